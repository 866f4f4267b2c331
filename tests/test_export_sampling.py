"""The one prior sampler (keras_svae.export.sampling), with numpy and in a SavedModel.

Each prior family is checked against scipy's CDF with a Kolmogorov-Smirnov test
(5,000 draws per latent, fixed seeds), twice: the numpy path (the LiteRT
generator's and the parity check's latents) and the ``generate`` signature of
a SavedModel written to disk and loaded back. A wrong family must fail the same
test, so it has the power to catch a broken formula.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import stats

from keras_svae import SparseVAE
from keras_svae import export as ex
from keras_svae.export.graph import build_module, write_saved_model
from keras_svae.export.sampling import (
    check_family,
    open_unit_interval,
    prior_draws,
    sample_prior,
    standard_draws,
)
from keras_svae.names import PAPER_PRIORS, PRIORS

tfd = tfp.distributions
SCIPY = {"normal": stats.norm, "laplace": stats.laplace, "cauchy": stats.cauchy}
WRONG = {"normal": "cauchy", "laplace": "cauchy", "cauchy": "normal"}
N = 5000
LOC = np.array([0.5, -1.0, 0.0])
SCALE = np.array([2.0, 0.3, 1.0])


def pvalues(z, family):
    """One KS p-value per latent, after standardising with LOC and SCALE."""
    standard = (np.asarray(z, np.float64) - LOC) / SCALE
    return [stats.kstest(standard[:, j], SCIPY[family].cdf).pvalue for j in range(len(LOC))]


def prior(family):
    return {"family": family, "loc": list(LOC), "scale": list(SCALE)}


def test_the_sampler_knows_the_library_prior_names():
    # The newer priors (student_t, spike_slab, horseshoe): tests/test_family.py.
    assert set(SCIPY) == set(PAPER_PRIORS) and set(PAPER_PRIORS) < set(PRIORS)
    assert check_family("Laplace") == "laplace"
    for bad in ("student", None, 3):
        with pytest.raises(ValueError, match="Valid choices: 'normal', 'laplace', 'cauchy'"):
            check_family(bad)
    with pytest.raises(ValueError, match="prior family 'student'"):
        sample_prior(prior("student"), 3)


@pytest.mark.parametrize("family", PAPER_PRIORS)
def test_numpy_draws_match_the_prior(family):
    z = sample_prior(prior(family), N, seed=11)
    assert z.shape == (N, 3) and z.dtype == np.float32
    assert np.all(np.isfinite(z))
    assert min(pvalues(z, family)) > 1e-3
    assert max(pvalues(z, WRONG[family])) < 1e-3
    np.testing.assert_array_equal(z, sample_prior(prior(family), N, seed=11))
    assert not np.array_equal(z, sample_prior(prior(family), N, seed=12))


@pytest.mark.parametrize("family", PAPER_PRIORS)
def test_saved_model_generate_draws_match_the_prior(family, tmp_path):
    def factory(latent_dim, dtype):
        cls = {"normal": tfd.Normal, "laplace": tfd.Laplace, "cauchy": tfd.Cauchy}[family]
        distribution = cls(loc=LOC.astype(np.float32), scale=SCALE.astype(np.float32))
        return tfd.Independent(distribution, reinterpreted_batch_ndims=1)

    model = SparseVAE(latent_dim=3, prior=factory, data_shape=(4,), decoder="linear", seed=0)
    parameters = ex.prior_parameters(model)
    assert parameters["family"] == family
    np.testing.assert_allclose(parameters["loc"], LOC, rtol=1e-6)
    np.testing.assert_allclose(parameters["scale"], SCALE, rtol=1e-6)
    write_saved_model(
        build_module(model, parameters, ex.postprocessing(model)), tmp_path / "saved_model"
    )
    generate = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["generate"]
    z = generate(seed=tf.constant(7, tf.int64), n=tf.constant(N))["z"].numpy()
    assert z.shape == (N, 3) and np.all(np.isfinite(z))
    assert min(pvalues(z, family)) > 1e-3
    assert max(pvalues(z, WRONG[family])) < 1e-3
    again = generate(seed=tf.constant(7, tf.int64), n=tf.constant(N))["z"].numpy()
    np.testing.assert_array_equal(z, again)


@pytest.mark.parametrize("family", PAPER_PRIORS)
def test_numpy_and_tensorflow_run_the_same_formula(family):
    u, v = np.random.default_rng(0).random((2, 1000, 3))
    expected = prior_draws(family, LOC, SCALE, u, v, np)
    loc, scale = tf.constant(LOC), tf.constant(SCALE)
    got = prior_draws(family, loc, scale, tf.constant(u), tf.constant(v), tf.math)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", PAPER_PRIORS)
def test_extreme_uniforms_give_finite_draws(family):
    # Both ends of numpy's 2**-53 grid and of TensorFlow's 2**-52 grid.
    u = np.array([0.0, 2.0**-53, 2.0**-52, 0.5, 1 - 2.0**-52, 1 - 2.0**-53])
    inside = open_unit_interval(u)
    assert np.all((inside > 0) & (inside < 1))
    for ops, wrap in ((np, np.asarray), (tf.math, tf.constant)):
        draws = np.asarray(standard_draws(family, wrap(u), wrap(u[::-1]), ops))
        assert np.all(np.isfinite(draws)), (ops.__name__, draws)
    # The draws are symmetric about 0 for the symmetric ends of the grid.
    draws = standard_draws(family, u, np.full_like(u, 0.25))
    if family != "normal":
        assert draws[0] == -draws[-1] and draws[0] < -20


def test_zero_and_negative_counts():
    assert sample_prior(prior("laplace"), 0).shape == (0, 3)
    with pytest.raises(ValueError, match="must be >= 0, got -1"):
        sample_prior(prior("laplace"), -1)
