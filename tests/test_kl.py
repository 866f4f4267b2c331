"""KL(q || p): the registered closed forms and the sampled estimate."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import integrate, stats

import keras_svae
from keras_svae import kl_divergence, make_posterior, make_prior

tfd = tfp.distributions

# (mu, sigma, b), including far-from-prior means, tiny and huge scales.
GRID = [
    (mu, sigma, b)
    for mu in (-30.0, -2.0, 0.0, 0.3, 5.0, 200.0)
    for sigma in (1e-3, 0.1, 1.0, 7.0, 150.0)
    for b in (0.01, 1.0, 40.0)
]


def _numerical_kl(mu, sigma, b):
    """KL(N(mu, sigma) || Laplace(0, b)) by adaptive quadrature of q log(q/p).

    Integrated in standard units t = (z - mu) / sigma, so that very narrow or
    very wide posteriors are as easy for the quadrature as unit ones.
    """
    standard = stats.norm()

    def log_prior(z):  # written out: scipy's laplace.logpdf underflows to -inf
        return -np.abs(z) / b - np.log(2.0 * b)

    def integrand(t):
        log_q = standard.logpdf(t) - np.log(sigma)
        return standard.pdf(t) * (log_q - log_prior(mu + sigma * t))

    kink = -mu / sigma  # where the Laplace density has its corner
    points = [kink] if -14.0 < kink < 14.0 else None
    value, _ = integrate.quad(
        integrand, -14.0, 14.0, points=points, limit=500, epsabs=0.0, epsrel=1e-10
    )
    return value


@pytest.mark.parametrize("mu,sigma,b", GRID)
def test_normal_laplace_closed_form_matches_quadrature(mu, sigma, b):
    q = tfd.Normal(np.float64(mu), np.float64(sigma))
    p = tfd.Laplace(np.float64(0.0), np.float64(b))
    closed = float(tfd.kl_divergence(q, p))
    numerical = _numerical_kl(mu, sigma, b)
    assert closed == pytest.approx(numerical, rel=1e-4, abs=1e-12)


def test_normal_laplace_closed_form_with_shifted_prior_location():
    q = tfd.Normal(np.float64(1.5), np.float64(0.7))
    p = tfd.Laplace(np.float64(1.0), np.float64(2.0))
    shifted = tfd.kl_divergence(
        tfd.Normal(np.float64(0.5), np.float64(0.7)), tfd.Laplace(np.float64(0.0), np.float64(2.0))
    )
    assert float(tfd.kl_divergence(q, p)) == pytest.approx(float(shifted), rel=1e-12)


def test_normal_laplace_closed_form_in_float32_stays_finite_at_extremes():
    loc = tf.constant([0.0, 1e4, -1e4, 3.0], tf.float32)
    scale = tf.constant([1e-4, 1e-4, 1e3, 1e-4], tf.float32)
    kl = tfd.kl_divergence(tfd.Normal(loc, scale), tfd.Laplace(0.0, 1.0)).numpy()
    assert np.all(np.isfinite(kl)) and np.all(kl > 0)


def test_sampled_estimate_is_unbiased():
    latent_dim = 6
    rng = np.random.default_rng(0)
    loc = tf.constant(rng.normal(0, 1.5, size=(1, latent_dim)), tf.float32)
    scale = tf.constant(rng.uniform(0.2, 2.0, size=(1, latent_dim)), tf.float32)
    q = make_posterior("normal", loc, scale)
    p = make_prior("laplace", latent_dim)
    z = q.sample(200_000, seed=(1, 2))  # [draws, 1, latent]
    draws = (q.log_prob(z) - p.log_prob(z)).numpy()[:, 0]
    closed = float(kl_divergence(q, p, mode="analytic")[0])
    sampled = float(kl_divergence(q, p, z, mode="sampled")[0])
    standard_error = draws.std() / np.sqrt(len(draws))
    assert sampled == pytest.approx(draws.mean(), rel=1e-5)
    assert abs(sampled - closed) < 3 * standard_error


def test_cauchy_pair_uses_registered_closed_form():
    model = keras_svae.SparseVAE(latent_dim=3, prior="cauchy", data_shape=(4,), seed=0)
    assert model.posterior_family == "cauchy" and model.kl_is_analytic
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    q = model.encode(x)
    _, kl_first = model.elbo_terms(tf.constant(x))
    _, kl_second = model.elbo_terms(tf.constant(x))  # new samples, same closed form
    np.testing.assert_array_equal(kl_first.numpy(), kl_second.numpy())
    loc, scale = q.distribution.loc.numpy(), q.distribution.scale.numpy()
    # KL(Cauchy(l, s) || Cauchy(0, 1)) = log((s + 1)^2 + l^2) - log(4 s), per latent.
    expected = np.sum(np.log((scale + 1) ** 2 + loc**2) - np.log(4 * scale), axis=1)
    np.testing.assert_allclose(kl_first.numpy(), expected, rtol=1e-5)


def test_unregistered_pair_goes_down_sampled_path():
    model = keras_svae.SparseVAE(
        latent_dim=3, prior="cauchy", posterior="normal", data_shape=(4,), seed=0
    )
    assert not model.kl_is_analytic
    x = tf.constant(np.random.default_rng(1).normal(size=(5, 4)), tf.float32)
    _, kl_first = model.elbo_terms(x)
    _, kl_second = model.elbo_terms(x)
    assert not np.allclose(kl_first.numpy(), kl_second.numpy())
    with pytest.raises(ValueError, match="no closed form.*Normal.*Cauchy.*kl='sampled'"):
        keras_svae.SparseVAE(latent_dim=3, prior="cauchy", posterior="normal", kl="analytic")


def test_laplace_prior_uses_registered_normal_laplace_form():
    model = keras_svae.SparseVAE(latent_dim=2, prior="laplace", data_shape=(3,))
    assert model.posterior_family == "normal" and model.kl_is_analytic
    forced = keras_svae.SparseVAE(latent_dim=2, prior="laplace", data_shape=(3,), kl="sampled")
    assert not forced.kl_is_analytic
