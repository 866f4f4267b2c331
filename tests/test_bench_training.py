"""Smoke test of benchmarks/bench_training.py: it runs and prints every row.

A few steps on 512 MNIST images, without XLA; no timing assertions (the
numbers only have to be finite and positive). The XLA-only sections (what each
optimisation buys, where a step's time goes) are left to the full run.
"""

import math
import re

import pytest

from benchmarks import bench_training
from benchmarks.training.data import make_dataset
from benchmarks.training.models import MODELS, train_flops_per_example

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

PRIOR_ROWS = [label for label, _ in MODELS]


def _numbers(line):
    return [float(v.replace(",", "")) for v in re.findall(r"\d[\d,]*\.?\d*", line)]


def test_quick_run_prints_every_row(shared_data, tmp_path):
    out = tmp_path / "bench.txt"
    lines = bench_training.main(
        [
            "--quick",
            "--jit",
            "off",
            "--steps-per-execution",
            "4",
            "--skip",
            "optimisations,profile",
            "--data",
            str(shared_data / "mnist"),
            "--output",
            str(out),
        ]
    )
    text = "\n".join(lines)
    assert out.read_text().strip() == text.strip()
    lines = text.splitlines()

    peak = re.search(r"matmul peak .*: ([\d.]+) GFLOP/s", text)
    assert peak and float(peak.group(1)) > 0

    for label in PRIOR_ROWS:
        row = next(line for line in lines if line.startswith(label + "  "))
        numbers = _numbers(row)
        assert len(numbers) == 8  # rate, best, 3 ratios, GFLOP/s, 2 shares
        assert all(math.isfinite(v) and v > 0 for v in numbers)
        rate, best = numbers[:2]
        assert rate <= best
    assert re.search(r"^baseline .* 1\.00x", text, re.M)

    rss = re.search(r"after the table \(5 models\): ([\d,]+) MiB", text)
    assert rss and float(rss.group(1).replace(",", "")) > 0

    for title, key, values in (
        ("latent size", "latent_dim", (2,)),
        ("latent samples per input", "n_samples", (1,)),
        ("batch size", "batch_size", (128,)),
    ):
        block = [
            line
            for line in text.split(f"by {title}:\n")[1].split("\n\n")[0].splitlines()
            if line.strip()
        ]
        assert block[0].split()[0] == key
        rows = {int(r.split()[0]): _numbers(r)[1:] for r in block[2:]}
        assert sorted(rows) == list(values)
        for numbers in rows.values():
            assert len(numbers) == 4
            assert all(math.isfinite(v) and v > 0 for v in numbers)
    assert "total wall time" in text


def test_flop_count_follows_the_layers():
    # 784-512-256-20 encoder, 10-256-512-784 decoder, x2 FLOPs per MAC, x3.
    enc = 784 * 512 + 512 * 256 + 256 * 20
    dec = 10 * 256 + 256 * 512 + 512 * 784
    assert train_flops_per_example(10) == 6 * (enc + dec)
    assert train_flops_per_example(10, n_samples=4) == 6 * (enc + 4 * dec)


def test_pipeline_reshuffles_every_epoch_and_keeps_all_examples():
    import numpy as np

    x = np.arange(40, dtype=np.uint8)[:, None] * np.ones((1, 3), np.uint8)
    ds = make_dataset(x, batch_size=8, seed=1)
    epochs = [np.concatenate([b.numpy()[:, 0] for b in ds]) for _ in range(2)]
    for e in epochs:
        assert sorted(np.round(e * 255).astype(int).tolist()) == list(range(40))
    assert not np.array_equal(epochs[0], epochs[1])
