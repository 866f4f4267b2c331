"""Install keras_svae (the library) and its console scripts.

The repository's ``training/`` and ``export/`` folders are thin ``python -m``
entry points for a checkout; they are not installed.
"""

from setuptools import find_packages, setup

setup(
    name="keras-svae",
    version="0.1.0",
    description="Sparse variational auto-encoders (Normal, Laplace, Cauchy priors) "
    "for Keras 3 and TensorFlow Probability",
    packages=find_packages(include=["keras_svae", "keras_svae.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "tensorflow-probability>=0.25,<0.26",
        "tf-keras>=2.21,<2.22",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow_datasets' download code needs it at run time
        "tensorboard>=2.21",
        "numpy",
        "scipy",
        "scikit-learn",
        "matplotlib",
    ],
    extras_require={"export": ["ai-edge-litert>=2.3"], "test": ["pytest", "ruff"]},
    entry_points={
        "console_scripts": [
            "keras-svae-train=keras_svae.cli:train_main",
            "keras-svae-export=keras_svae.cli:export_main",
            "keras-svae-generate=keras_svae.cli:generate_main",
        ]
    },
)
