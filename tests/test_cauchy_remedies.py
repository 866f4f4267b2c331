"""Smoke test of benchmarks/cauchy_remedies.py: two candidates on a few MNIST
digits for one epoch, each in its own run folder, one table row each with the
claims' numbers of its experiment; a rerun keeps the finished runs."""

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
    columns = dict(zip(table[0].split(" | "), table[1].split(" | "), strict=True))
    assert int(columns["digit classes"]) in range(11)  # claim 3's number, measured
    assert float(columns["sharpness"]) >= 0.0
    folders = sorted(path.name for path in tmp_path.iterdir() if path.is_dir())
    assert folders == ["mnist-cauchy-z10-epoch_noise-epoch", "mnist-cauchy-z10-fresh"]
    config = json.loads((tmp_path / folders[0] / "metrics.json").read_text())["config"]
    assert (config["noise"], config["recipe"], config["batch_size"]) == ("epoch", "paper", 100)
    cauchy_remedies.main(argv)  # kept, not retrained
    assert "grid: 2 of 2 runs finished earlier (or failed), kept" in capsys.readouterr().out


def test_with_two_latents_the_row_has_claim_5s_number(shared_data, tmp_path, capsys):
    argv = ["--data-dir", str(shared_data), "--out", str(tmp_path), "--epochs", "1",
            "--max-train", "200", "--candidates", "warmup", "--experiment", "mnist-z2"]  # fmt: skip
    assert cauchy_remedies.main(argv) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    columns = dict(zip(table[0].split(" | "), table[1].split(" | "), strict=True))
    assert columns["digit classes"] == "-"  # claim 3 is on 10 latents only
    # Claim 5's number, as the grid measured it ("-": no latent carries information).
    measured = json.loads((tmp_path / "mnist-cauchy-z2-warmup" / "reproduce.json").read_text())
    share = measured["kl_top_share"]
    assert columns["top-latent KL share"] == ("-" if share is None else f"{share:.3f}")


def test_an_unknown_candidate_is_refused(capsys):
    with pytest.raises(SystemExit):
        cauchy_remedies.main(["--candidates", "fresh,sobol"])
    assert "unknown candidates ['sobol']" in capsys.readouterr().err
