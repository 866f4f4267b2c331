"""Smoke test of benchmarks/cauchy_remedies.py: two candidates on a few MNIST
digits for one epoch, each in its own run folder, one table row each; a rerun
keeps the finished runs."""

import json

import pytest

from benchmarks import cauchy_remedies

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow


def test_two_candidates_train_and_print_their_rows(shared_data, tmp_path, capsys):
    argv = ["--data-dir", str(shared_data), "--out", str(tmp_path), "--epochs", "1",
            "--max-train", "200", "--candidates", "fresh,epoch"]  # fmt: skip
    assert cauchy_remedies.main(argv) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| candidate | final train KL | test KL | test MSE")
    assert [line.split(" | ")[0] for line in table[1:]] == ["| fresh", "| epoch"]
    folders = sorted(path.name for path in tmp_path.iterdir())
    assert folders == ["mnist-cauchy-z10-epoch_noise-epoch", "mnist-cauchy-z10-fresh"]
    config = json.loads((tmp_path / folders[0] / "metrics.json").read_text())["config"]
    assert (config["noise"], config["recipe"], config["batch_size"]) == ("epoch", "paper", 100)
    cauchy_remedies.main(argv)  # kept, not retrained
    assert capsys.readouterr().out.count("finished earlier, kept") == 2


def test_an_unknown_candidate_is_refused(capsys):
    with pytest.raises(SystemExit):
        cauchy_remedies.main(["--candidates", "fresh,sobol"])
    assert "unknown candidates ['sobol']" in capsys.readouterr().err
