"""examples/quickstart.ipynb runs top to bottom (with few steps) on real MNIST."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SVAE_MNIST", str(shared_data / "mnist"))
    monkeypatch.setenv("KERAS_SVAE_QUICK", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=dict(os.environ))
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 4  # curves, reconstructions, KL bars, patterns
    numbers = notebook.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "IWAE log p(x) >=" in numbers and "active units" in numbers
    assert (tmp_path / "logs" / "quickstart" / "sparsity").is_dir()
