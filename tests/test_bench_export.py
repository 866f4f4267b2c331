"""Smoke test of benchmarks/bench_export.py: it runs end to end and prints its table.

Tiny repeat counts and a tiny model: this checks that the benchmark works, not
how fast anything is (no timing assertions).
"""

import re

import pytest

from benchmarks import bench_export
from keras_svae import SparseVAE

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow


def test_bench_export_runs_and_prints_every_runtime(tmp_path, capsys):
    model = SparseVAE(
        latent_dim=3,
        prior="cauchy",
        data_shape=(4, 4, 1),
        decoder="mlp",
        decoder_units=(64, 64),
        likelihood="bernoulli",
        seed=0,
    )
    model.save(tmp_path / "model.keras")
    result = bench_export.run(
        [
            "--model",
            str(tmp_path / "model.keras"),
            "--repeats",
            "3",
            "--batch-repeats",
            "2",
            "--warmup",
            "1",
        ]
    )
    out = capsys.readouterr().out
    for runtime in (
        "Keras decoder(z)",
        "Keras decoder.predict(z)",
        "SavedModel decode signature",
        "TFLite float32",
        "TFLite float16",
        "TFLite dynamic",
    ):
        assert re.search(rf"\| {re.escape(runtime)} +\| +[\d.]+ us \| +[\d,]+ \|", out), runtime
    ratio = re.search(r"Keras decoder\(z\) latency / TFLite float32 latency: ([\d.]+)x", out)
    assert ratio and float(ratio.group(1)) == round(result["ratio"], 1)
    assert len(result["rows"]) == 6
    assert all(row["latency_s"] > 0 and row["throughput_per_s"] > 0 for row in result["rows"])
    assert set(result["sizes"]) == {"float32", "float16", "dynamic"}
