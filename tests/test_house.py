"""The layout rules a newcomer relies on: small modules, no private
cross-imports, one copy of each shared helper, and a wheel that installs only
keras_svae and its console scripts."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "keras_svae"
MODULES = sorted(LIBRARY.rglob("*.py"))
MAX_LINES = 420  # "about 400"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by job"


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield node.value.id, node.attr


@pytest.mark.slow
def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for path in [*MODULES, *ROOT.glob("training/*.py"), *ROOT.glob("export/*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_svae"):
                offenders += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert not offenders


def _definitions(name):
    """Where a function or a module-level constant called ``name`` is defined."""
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                found.append(path.relative_to(ROOT))
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                found.append(path.relative_to(ROOT))
    return found


def test_one_list_of_prior_names_one_atomic_writer():
    assert _definitions("PRIORS") == [Path("keras_svae/names.py")]
    assert _definitions("atomic_path") == [Path("keras_svae/files.py")]
    text = {p: p.read_text() for p in MODULES if p.name != "files.py"}
    # Nobody else renames temporary files into place.
    assert [p.relative_to(ROOT) for p, t in text.items() if "os.replace(" in t] == []
    # The prior families are spelled out in one place only.
    spelled = [
        p.relative_to(ROOT) for p, t in text.items() if '("normal", "laplace", "cauchy")' in t
    ]
    assert spelled == [Path("keras_svae/names.py")]


@pytest.mark.slow
def test_wheel_installs_only_the_library_and_its_console_scripts(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("keras_svae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"keras_svae"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ("keras-svae-train", "keras-svae-export", "keras-svae-generate"):
        assert f"{script} = keras_svae.cli:" in scripts


@pytest.mark.slow
def test_importing_the_library_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib; matplotlib.use('pdf'); b = matplotlib.get_backend(); "
        "import keras_svae, keras_svae.callbacks, keras_svae.plots; "
        "assert matplotlib.get_backend() == b, (b, matplotlib.get_backend())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
