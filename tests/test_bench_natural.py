"""benchmarks/bench_natural.py: its hand-written baseline is the same model as
SparseVAE's natural default (same weights' shapes, the same KL), and its
smallest setting runs and prints every number (finite, and the projection
computed from the rate it printed)."""

import math
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from benchmarks import bench_natural

tfd = tfp.distributions


def test_baseline_is_the_same_model_as_the_sparse_vae():
    models = bench_natural.build_models(bench_natural.parse_args(["--quick"]))
    (_, baseline), (_, svae), (_, unfused) = models
    assert not unfused.fuse_steps and svae.fuse_steps
    assert sorted(tuple(w.shape) for w in baseline.trainable_weights) == sorted(
        tuple(w.shape) for w in svae.trainable_weights
    )
    # Its KL written out is the closed form the library registers with TFP.
    rng = np.random.default_rng(0)
    loc = rng.normal(scale=2.0, size=200).astype("float32")
    scale = rng.uniform(0.01, 3.0, size=200).astype("float32")
    written = np.asarray(bench_natural.kl_normal_laplace(tf.constant(loc), tf.constant(scale)))
    library = tfd.kl_divergence(tfd.Normal(loc, scale), tfd.Laplace(0.0, 1.0)).numpy()
    np.testing.assert_allclose(written, library, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_quick_run_prints_rates_ratio_and_projection(shared_data, tmp_path):
    out = tmp_path / "natural.txt"
    photographs = str(shared_data / "bsds300" / "train")
    argv = ["--quick", "--jit", "off", "--data-dir", photographs, "--output", str(out)]
    text = "\n".join(bench_natural.main(argv))
    assert out.read_text().strip() == text.strip()
    rates = {}
    labels = (bench_natural.BASELINE, bench_natural.SVAE, bench_natural.UNFUSED,
              bench_natural.PIPELINE)  # fmt: skip
    for label in labels:
        row = next(line for line in text.splitlines() if line.startswith(label + "  "))
        rate, best = (float(v.replace(",", "")) for v in row[len(label) :].split()[:2])
        assert math.isfinite(rate) and 0 < rate <= best
        rates[label] = rate
    ratio = re.search(r"SparseVAE / baseline: ([\d.]+)x \(ratio of medians\)", text)
    assert float(ratio.group(1)) == pytest.approx(
        rates[bench_natural.SVAE] / rates[bench_natural.BASELINE], abs=0.006
    )
    projection = r"at (.*)'s median rate \(.*\): ([\d.]+) min, (under|NOT under) 10"
    projections = re.findall(projection, text)
    assert [label for label, _, _ in projections] == [bench_natural.SVAE, bench_natural.PIPELINE]
    for label, printed, verdict in projections:
        minutes = 90_000 * 15 / rates[label] / 60
        assert float(printed) == pytest.approx(minutes, rel=0.01, abs=0.06)
        assert (verdict == "under") == (minutes < 10)
