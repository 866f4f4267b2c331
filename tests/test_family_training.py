"""The sparse-coding family in use: every new prior and posterior trains on the
synthetic patches, round-trips through `.keras`, exports (SavedModel, TFLite,
the LiteRT generator) and is reachable from the command line; the README's
table of KL paths is regenerated from the code.

Training cases run 2,000 steps (20 epochs of 100 batches of 32): an epoch's
`loss` is the mean of its 100 step losses, so the first and last epochs are the
first and last 100 steps, and a finite epoch mean means finite step losses.
"""

import functools
import json
import math
import re
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from tensorflow_probability import distributions as tfd

from keras_svae import SparseVAE
from keras_svae import export as ex
from keras_svae.cli import train_main
from keras_svae.data import load_synthetic, synthetic_patches
from keras_svae.distributions import check_pairing, make_prior
from keras_svae.experiment import ExperimentConfig
from keras_svae.export.generator import Generator
from keras_svae.kl import uses_closed_form
from keras_svae.names import PAPER_POSTERIOR, POSTERIORS, PRIORS

README = Path(__file__).resolve().parents[1] / "README.md"

# (prior, posterior, extra SparseVAE arguments): each new prior with its
# default posterior (the spike-and-slab prior with a Normal one too), each new
# posterior with the priors it pairs with.
CASES = {
    "student_t": ("student_t", None, {"prior_df": 4.0}),
    "spike_slab-normal": ("spike_slab", "normal", {"slab_probability": 0.3}),
    "horseshoe": ("horseshoe", None, {}),
    "laplace-laplace": ("laplace", "laplace", {}),
    "normal-laplace": ("normal", "laplace", {}),
    "spike_slab-spike_slab": ("spike_slab", "spike_slab", {}),
}
STEPS_PER_EPOCH, EPOCHS, BATCH = 100, 20, 32


def make_model(prior, posterior, extra, latent_dim=10, data_shape=(5, 5, 1), **kwargs):
    options = dict(
        latent_dim=latent_dim, prior=prior, posterior=posterior, decoder="linear",
        encoder_units=(32,), likelihood="gaussian", likelihood_scale=0.1,
        data_shape=data_shape, seed=0,
    )  # fmt: skip
    return SparseVAE(**{**options, **extra, **kwargs})


@functools.cache
def trained(case):
    """(model, per-epoch losses, seconds) of 2,000 training steps, once per case."""
    prior, posterior, extra = CASES[case]
    data, info = load_synthetic(STEPS_PER_EPOCH * BATCH, batch_size=BATCH, drop_remainder=True)
    model = make_model(prior, posterior, extra, data_shape=tuple(info.element_shape))
    model.compile(optimizer=keras.optimizers.Adam(3e-3, global_clipnorm=10.0))
    start = time.perf_counter()
    history = model.fit(data, epochs=EPOCHS, verbose=0)
    return model, history.history["loss"], time.perf_counter() - start


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.slow
def test_new_family_member_trains_with_a_falling_finite_loss(case):
    model, losses, _ = trained(case)
    prior, posterior, _ = CASES[case]
    assert model.posterior_family == (posterior or PAPER_POSTERIOR[prior])
    assert len(losses) == EPOCHS and all(math.isfinite(v) for v in losses), losses
    # The last 100 steps' mean loss is below the first 100's.
    assert losses[-1] < losses[0], losses
    assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)
    assert model.optimizer.iterations.numpy() == STEPS_PER_EPOCH * EPOCHS


# ------------------------------------------------------------------ .keras
ROUND_TRIP = {
    **CASES,
    "laplace-threshold": ("laplace", "laplace", {"threshold": 0.2}),
    "normal-learned-threshold": ("normal", "normal", {"threshold": "learned"}),
    "laplace-iwae": ("laplace", "laplace", {"objective": "iwae", "n_samples": 3}),
}


@pytest.mark.parametrize("case", sorted(ROUND_TRIP))
@pytest.mark.slow
def test_keras_round_trip_of_every_new_prior_and_posterior(case, tmp_path):
    if case in CASES:
        model = trained(case)[0]
    else:
        model = make_model(*ROUND_TRIP[case])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.get_config() == model.get_config()
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    for saved, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy(), err_msg=saved.path)
    z = np.random.default_rng(0).normal(size=(16, model.latent_dim)).astype("float32")
    np.testing.assert_array_equal(loaded.decode(z).numpy(), model.decode(z).numpy())
    x = synthetic_patches(64, seed=5).x
    np.testing.assert_array_equal(loaded.encode(x).mode().numpy(), model.encode(x).mode().numpy())
    for key in ("prior_df", "slab_probability"):
        assert getattr(loaded, key) == getattr(model, key)
    assert type(loaded.prior.distribution) is type(model.prior.distribution)
    assert loaded.posterior_family == model.posterior_family
    assert loaded.kl_is_analytic == model.kl_is_analytic


# ------------------------------------------------------------------ export
# prior: (its parameters, the scipy distribution of standardised slab draws,
# a wrong one the same test must reject).
HORSESHOE = stats.halfcauchy.rvs(size=100_000, random_state=1) * stats.norm.rvs(
    size=100_000, random_state=2
)
EXPORTED = {
    "student_t": ({"prior_df": 2.5}, stats.t(2.5).cdf, stats.norm.cdf),
    "spike_slab": ({"slab_probability": 0.3}, stats.norm.cdf, stats.laplace.cdf),
    "horseshoe": ({}, None, stats.cauchy.cdf),
}
PRIOR_SCALE = 1.5


def check_prior_draws(prior, z):
    """Zero fraction (spike-and-slab) and Kolmogorov-Smirnov per latent on the
    standardised draws, with a wrong distribution that must fail the same test
    (as tests/test_family.py does for the sampler itself)."""
    extra, cdf, wrong = EXPORTED[prior]
    standard = np.asarray(z, np.float64) / PRIOR_SCALE
    columns = list(standard.T)
    if prior == "spike_slab":
        p = extra["slab_probability"]
        zero = np.mean(z == 0, axis=0)
        assert np.all(np.abs(zero - (1 - p)) < 4 * math.sqrt(p * (1 - p) / len(z))), zero
        columns = [column[column != 0] for column in columns]
    for column in columns:
        if cdf is None:
            assert stats.ks_2samp(column, HORSESHOE).pvalue > 1e-3
        else:
            assert stats.kstest(column, cdf).pvalue > 1e-3
        assert stats.kstest(column, wrong).pvalue < 1e-3


@pytest.fixture(scope="module", params=sorted(EXPORTED))
def exported(request, tmp_path_factory):
    """(prior, model, export folder, export.json) of a real export per new prior."""
    prior = request.param
    model = make_model(
        prior, None, EXPORTED[prior][0], latent_dim=3, prior_scale=PRIOR_SCALE, decoder="mlp",
        decoder_units=(16,),
    )  # fmt: skip
    out = tmp_path_factory.mktemp(prior) / "exported"
    info = ex.export_decoder(model, out, parity_samples=500)
    assert json.loads((out / "export.json").read_text()) == info
    return prior, model, out, info


@pytest.mark.slow
def test_export_records_the_prior_and_its_parity_holds(exported):
    prior, model, _, info = exported
    recorded = info["prior"]
    assert recorded["family"] == prior and recorded["scale"] == [PRIOR_SCALE] * 3
    if prior == "student_t":
        assert recorded["df"] == pytest.approx(2.5)
    if prior == "spike_slab":
        assert recorded["slab_probability"] == pytest.approx(0.3)
    results = info["parity"]["results"]
    assert info["parity"]["n_latents"] == 500
    assert set(results) == {"saved_model.decode", "saved_model.generate", "tflite.float32"}
    for name, result in results.items():
        # The export compared each file with the Keras decoder on prior draws.
        assert result["ok"] and result["checked"] == "max_scaled_diff", (name, result)
        assert result["max_scaled_diff"] <= result["bound"] == 1e-5, (name, result)


def test_saved_model_generate_draws_from_the_prior(exported):
    prior, model, out, _ = exported
    loaded = tf.saved_model.load(str(out / "saved_model"))
    result = loaded.signatures["generate"](seed=tf.constant(11, tf.int64), n=tf.constant(20000))
    z, images = result["z"].numpy(), result["images"].numpy()
    assert z.shape == (20000, 3) and np.all(np.isfinite(z))
    check_prior_draws(prior, z)
    np.testing.assert_allclose(images[:500], model.decode(z[:500]).numpy(), atol=1e-5, rtol=0)
    decoded = loaded.signatures["decode"](z=tf.constant(z[:500]))["images"].numpy()
    np.testing.assert_allclose(decoded, images[:500], atol=1e-6, rtol=0)


def test_litert_generator_draws_from_the_prior_and_decodes_like_keras(exported):
    prior, model, out, _ = exported
    images, z = Generator(out).generate(20000, seed=4)
    assert z.shape == (20000, 3) and np.all(np.isfinite(z))
    check_prior_draws(prior, z)
    np.testing.assert_allclose(images[:500], model.decode(z[:500]).numpy(), atol=1e-5, rtol=0)


# ------------------------------------------------------------- command line
TINY = ["--epochs", "1", "--batch-size", "500", "--iwae-k", "2", "--n-eval", "10", "--verbose", "0"]


def run_cli(tmp_path, *argv):
    """Train one tiny run from the command line; its metrics.json."""
    assert train_main([*argv, *TINY, "--out", str(tmp_path)]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["name"] == folder.name
    assert all(math.isfinite(v) for v in metrics["history"]["loss"])
    return folder, metrics


@pytest.mark.slow
def test_cli_trains_a_student_t_prior_with_its_degrees_of_freedom(tmp_path):
    folder, metrics = run_cli(tmp_path, "--prior", "student_t", "--prior-df", "4")
    assert folder.name == "synthetic-student_t-df4-z10"
    assert metrics["config"]["prior_df"] == 4.0 and metrics["kl_path"] == "sampled"
    model = keras.models.load_model(folder / "model.keras")
    assert model.prior_df == 4.0 and float(model.prior.distribution.df) == 4.0


@pytest.mark.slow
def test_cli_trains_with_a_threshold_and_a_laplace_posterior(tmp_path):
    folder, metrics = run_cli(
        tmp_path, "--prior", "laplace", "--posterior", "Laplace", "--threshold", "0.1"
    )
    assert folder.name == "synthetic-laplace-z10-laplace_posterior-threshold0.1"
    assert metrics["config"]["threshold"] == 0.1 and metrics["posterior"] == "laplace"
    assert metrics["config"]["posterior"] == "laplace"
    model = keras.models.load_model(folder / "model.keras")
    assert model.threshold == 0.1 and model.posterior_family == "laplace"
    z = model.encode(synthetic_patches(200, seed=3).x).sample(seed=0).numpy()
    assert 0 < np.mean(z == 0) < 1  # exact zeros, not all of them


@pytest.mark.slow
def test_cli_sets_the_slab_scale_and_the_gamma_prior_of_learned_thresholds(tmp_path):
    folder, metrics = run_cli(tmp_path / "slab", "--prior", "spike_slab", "--prior-scale", "2")
    assert (
        folder.name == "synthetic-spike_slab-scale2-z10" and metrics["config"]["prior_scale"] == 2
    )
    model = keras.models.load_model(folder / "model.keras")
    assert model.prior_scale == 2.0 and np.all(np.asarray(model.prior.distribution.scale) == 2.0)
    folder, metrics = run_cli(
        tmp_path / "gamma", "--prior", "laplace", "--posterior", "laplace", "--threshold",
        "learned", "--threshold-prior", "3,10",
    )  # fmt: skip
    assert folder.name.endswith("-threshold_learned-gamma3_10")
    model = keras.models.load_model(folder / "model.keras")
    assert tuple(model.threshold_prior) == (3.0, 10.0) and model.threshold == "learned"


@pytest.mark.slow
def test_cli_trains_with_the_iwae_objective(tmp_path):
    folder, metrics = run_cli(
        tmp_path, "--prior", "spike_slab", "--slab-probability", "0.2", "--objective", "iwae",
        "--n-samples", "3",
    )  # fmt: skip
    assert folder.name == "synthetic-spike_slab-slab0.2-z10-iwae3"
    config = metrics["config"]
    assert (config["objective"], config["n_samples"], config["slab_probability"]) == (
        "iwae",
        3,
        0.2,
    )
    model = keras.models.load_model(folder / "model.keras")
    assert model.objective == "iwae" and model.n_samples == 3 and model.slab_probability == 0.2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prior", "student_t", "--prior-df", "0"], r"prior_df .*>= 0.5.*got 0\.0"),
        (["--prior", "student_t", "--prior-df", "nan"], r"prior_df .*got nan"),
        (["--prior", "spike_slab", "--slab-probability", "1.5"], r"strictly between 0 and 1"),
        (["--prior", "laplace", "--prior-df", "4"], r"prior_df applies to the 'student_t'"),
        (["--prior-df", "4"], r"prior_df applies to the 'student_t' prior only, not to 'normal'"),
        (["--prior", "laplace", "--posterior", "spike_slab"], r"cannot be paired with the lap"),
        (["--prior", "laplace", "--posterior", "gamma"], r"--posterior: invalid choice: 'gamma'"),
        (["--prior", "cauchy", "--threshold", "0.1"], r"posterior is 'cauchy'"),
        (["--prior", "laplace", "--threshold", "-1"], r"threshold must be a finite number >= 0"),
        (["--prior", "laplace", "--threshold", "some"], r"--threshold: must be a number >= 0 or"),
        (["--prior", "laplace", "--objective", "vi"], r"--objective: invalid choice: 'vi'"),
        (["--prior", "laplace", "--threshold", "0.1", "--objective", "iwae"], r"needs log q"),
        (["--prior", "spike_slab", "--prior-scale", "0"], r"prior_scale must be a positive"),
        (["--prior", "laplace", "--threshold-prior", "2,20"], r"--threshold learned only"),
        (["--threshold", "learned", "--threshold-prior", "2"], r"--threshold-prior: must be two"),
        (["--threshold", "learned", "--threshold-prior", "2,-1"], r"pair of positive numbers"),
    ],
)
def test_cli_refuses_bad_family_options(argv, message, tmp_path, capsys):
    try:
        code = train_main([*argv, "--out", str(tmp_path / "runs")])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert len(err.strip().splitlines()[-1]) > 20  # the last line says what is wrong
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_run_names_differ_when_the_options_do_and_defaults_keep_old_names():
    assert ExperimentConfig(prior="laplace").name == "synthetic-laplace-z10"
    assert ExperimentConfig(prior="cauchy", data="toy").name == "toy-cauchy-z2"
    same = [
        ExperimentConfig(prior="laplace", posterior="normal"),
        ExperimentConfig(prior="student_t", prior_df=3),
        ExperimentConfig(prior="spike_slab", slab_probability=0.5, posterior="SPIKE_SLAB"),
    ]
    assert [c.name for c in same] == [
        "synthetic-laplace-z10", "synthetic-student_t-z10", "synthetic-spike_slab-z10",
    ]  # fmt: skip
    # A default given explicitly is the same config as one left out.
    assert same[1] == ExperimentConfig(prior="student_t")
    variants = [
        dict(prior="laplace"),
        dict(prior="laplace", posterior="laplace"),
        dict(prior="laplace", threshold=0.1),
        dict(prior="laplace", threshold=0.2),
        dict(prior="laplace", threshold="learned"),
        dict(prior="laplace", posterior="laplace", threshold=0.1),
        dict(prior="laplace", objective="iwae"),
        dict(prior="laplace", objective="iwae", n_samples=5),
        dict(prior="student_t"),
        dict(prior="student_t", prior_df=1.5),
        dict(prior="student_t", prior_df=1.5, posterior="laplace"),
        dict(prior="spike_slab"),
        dict(prior="spike_slab", slab_probability=0.1),
        dict(prior="spike_slab", posterior="normal"),
        dict(prior="horseshoe"),
        dict(prior="spike_slab", prior_scale=2.0),
        dict(prior="laplace", posterior="laplace", threshold="learned", threshold_prior=(3, 10)),
    ]
    names = [ExperimentConfig(**v).name for v in variants]
    assert len(set(names)) == len(names), names


# ------------------------------------------------------------ README table
PATHS = {True: "closed form", False: "sampled"}


def kl_path_table():
    """The README's table: each prior against each posterior, the KL path a
    model with kl="auto" takes (from the code), its default pairing marked."""
    header = "| prior / posterior | " + " | ".join(f'`"{q}"`' for q in POSTERIORS) + " |"
    lines = [header, "|---" * (len(POSTERIORS) + 1) + "|"]
    for prior in PRIORS:
        cells = []
        for posterior in POSTERIORS:
            try:
                check_pairing(posterior, prior)
            except ValueError:
                cells.append("refused (infinite)")
                continue
            cell = PATHS[uses_closed_form(posterior, make_prior(prior, 2), 2)]
            cells.append(f"**{cell}** (default)" if PAPER_POSTERIOR[prior] == posterior else cell)
        lines.append(f'| `"{prior}"` | ' + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_readme_lists_every_prior_and_posterior_with_its_kl_path():
    table = kl_path_table()
    assert table.count("\n") == len(PRIORS) + 2
    assert table in README.read_text(), "README's KL-path table is stale; paste:\n" + table


@pytest.mark.parametrize(
    "prior, posterior, extra",
    [("spike_slab", None, {}), ("laplace", "laplace", {"threshold": 0.3})],
    ids=["spike_slab", "thresholded"],
)
def test_kl_per_latent_of_spike_slab_priors_and_thresholded_posteriors(prior, posterior, extra):
    """The run's per-latent KL (evaluation.kl_per_latent) sums to the model's KL."""
    from keras_svae import evaluation

    model = make_model(prior, posterior, extra)
    x = synthetic_patches(50, seed=2).x
    per_latent = evaluation.kl_per_latent(model, x, per_example=True)
    assert per_latent.shape == (50, 10) and np.all(per_latent >= -1e-6)
    total = tfd.kl_divergence(model.posterior(tf.constant(x)), model.prior).numpy()
    np.testing.assert_allclose(per_latent.sum(axis=1), total, rtol=1e-5)
