"""Smoke test of benchmarks/bench_iwae.py: the quick mode runs and prints every number.

A few MNIST digits, k = 50, one small training epoch without XLA; no timing
assertions (the numbers only have to be finite and positive).
"""

import math
import re

import numpy as np
import pytest

from benchmarks import bench_iwae

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow


def _number(pattern, text):
    found = re.search(pattern, text)
    assert found, f"no match for {pattern!r} in:\n{text}"
    return float(found.group(1).replace(",", ""))


def test_quick_run_prints_the_cost_per_sample_and_the_ratio(shared_data, tmp_path):
    out = tmp_path / "bench.txt"
    result = bench_iwae.main(
        ["--quick", "--jit", "off", "--data", str(shared_data / "mnist"), "--output", str(out)]
    )
    text = out.read_text()
    assert text.strip() == "\n".join(result["lines"]).strip()
    total = _number(r"total time: ([\d.]+) s for 3,200 samples", text)
    per_sample = _number(r"per sample: ([\d.]+) us", text)
    forward = _number(r"reference \(the faster\): ([\d.]+) us/example", text)
    ratio = _number(r"ratio to the forward pass per example: ([\d.]+)x", text)
    for value in (total, per_sample, forward, ratio):
        assert math.isfinite(value) and value > 0
    assert ratio == pytest.approx(per_sample / forward, rel=0.01, abs=0.01)
    assert result["bound"].shape == (64,) and np.all(np.isfinite(result["bound"]))
    # A bound on log p(x) of binarisation-free MNIST under a Bernoulli model is negative.
    assert np.all(result["bound"] < 0)
    assert re.search(r"total <= 600 s: .*, (met|NOT met)", text)
    assert re.search(r"per sample <= 1\.5x the forward pass: .*, (met|NOT met)", text)


def test_decoder_flops_count_the_dense_layers():
    assert bench_iwae.decoder_flops_per_sample(10) == 2 * (10 * 256 + 256 * 512 + 512 * 784)
