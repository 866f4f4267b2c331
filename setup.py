"""Install keras_svae (the library) and its console scripts.

Everything (name, version, dependencies, console scripts, which packages the
wheel holds) is declared in pyproject.toml's ``[project]``; this file only
lets tools that still call ``setup.py`` build the package. The repository's
``training/`` and ``export/`` folders are thin ``python -m`` entry points for a
checkout; they are not installed.
"""

from setuptools import setup

setup()
