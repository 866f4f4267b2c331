"""The notebooks in examples/ run top to bottom (quick mode: KERAS_SVAE_QUICK=1)
on real data, each in its own kernel and temporary folder."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_notebook(name, folder, monkeypatch):
    """Execute examples/<name> in ``folder`` with KERAS_SVAE_QUICK=1 and return
    (the executed notebook, its code cells' outputs); fails on any error."""
    monkeypatch.setenv("KERAS_SVAE_QUICK", "1")
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=dict(os.environ))
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return notebook, outputs


def figures(outputs):
    return [o for o in outputs if "image/png" in o.get("data", {})]


def printed(outputs):
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def test_notebooks_are_committed_without_outputs():
    for path in sorted(EXAMPLES.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert not [cell for cell in code if cell.outputs or cell.execution_count], path.name


def test_quickstart_notebook_runs(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SVAE_MNIST", str(shared_data / "mnist"))
    notebook, outputs = run_notebook("quickstart.ipynb", tmp_path, monkeypatch)
    assert len(figures(outputs)) >= 4  # curves, reconstructions, KL bars, patterns
    numbers = notebook.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "IWAE log p(x) >=" in numbers and "active units" in numbers
    assert (tmp_path / "logs" / "quickstart" / "sparsity").is_dir()


def test_natural_images_notebook_runs(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SVAE_BSDS", str(shared_data / "bsds300" / "train"))
    _, outputs = run_notebook("natural_images.ipynb", tmp_path, monkeypatch)
    assert len(figures(outputs)) >= 3  # curves, atoms, Gabor parameters
    text = printed(outputs)
    assert "18 training photographs (3600 patches), 2 held out" in text
    assert "atoms fitted: 24 of 169" in text and "Gabor-like (R^2 >= 0.7):" in text


def test_deploy_decoder_notebook_runs(tmp_path, monkeypatch):
    _, outputs = run_notebook("deploy_decoder.ipynb", tmp_path, monkeypatch)
    assert figures(outputs)  # the grid of LiteRT samples
    text = printed(outputs)
    assert "tflite.float32" in text and "Bonferroni-adjusted smallest KS p-value" in text
    assert "samples.npy: (2000, 5, 5, 1), from a laplace prior over 10 latents" in text
