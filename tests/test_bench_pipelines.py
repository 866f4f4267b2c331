"""Smoke test: benchmarks/bench_pipelines.py runs end to end on a couple of batches."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pipelines.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_pipelines", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_training_side_and_threshold(bench, capsys):
    argv = [
        "--pipelines",
        "synthetic_5x5",
        "--batches",
        "2",
        "--steps",
        "2",
        "--batch-size",
        "16",
        "--repeats",
        "1",
    ]
    assert bench.main(argv + ["--min-ratio", "1e9"]) == 1  # an impossible threshold fails
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("synthetic_5x5"))
    assert "batches/s" in line and "steps/s" in line and "ratio" in line and " - " not in line
    assert "FAIL" in out


def test_all_pipelines_build_and_iterate(bench, shared_data, capsys):
    argv = ["--data-dir", str(shared_data), "--batches", "2", "--repeats", "1", "--no-train"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert all(any(s.startswith(n) for s in out.splitlines()) for n in bench.PIPELINES)
