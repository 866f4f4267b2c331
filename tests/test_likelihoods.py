"""The likelihoods' own log densities agree with TFP's distributions."""

import numpy as np
import pytest
import tensorflow as tf

from keras_svae.likelihoods import BernoulliLikelihood, GaussianLikelihood


@pytest.mark.parametrize("event_ndims", [1, 3])
def test_bernoulli_log_prob_matches_tfp(event_ndims):
    rng = np.random.default_rng(0)
    shape = (4, 6, 5, 5, 1) if event_ndims == 3 else (4, 6, 25)
    logits = rng.normal(0.0, 5.0, shape).astype("float32")
    logits.flat[:4] = [-120.0, 120.0, -30.0, 30.0]  # saturated sigmoid
    x = rng.random(shape).astype("float32")  # grey values: the relaxed Bernoulli
    x.flat[:4] = [0.0, 1.0, 1.0, 0.0]  # the unlikely outcome of a saturated logit
    x.flat[4:8] = [0.0, 1.0, 0.0, 1.0]
    likelihood = BernoulliLikelihood()
    got = likelihood.log_prob(tf.constant(x), tf.constant(logits), event_ndims).numpy()
    want = likelihood.distribution(tf.constant(logits), event_ndims).log_prob(x).numpy()
    assert got.shape == want.shape == shape[:2]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bernoulli_log_prob_gradient_matches_tfp():
    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.normal(0.0, 3.0, (8, 30)).astype("float32"))
    x = tf.constant((rng.random((8, 30)) > 0.5).astype("float32"))
    likelihood = BernoulliLikelihood()
    grads = []
    for log_prob in (
        lambda: likelihood.log_prob(x, logits, 1),
        lambda: likelihood.distribution(logits, 1).log_prob(x),
    ):
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(log_prob())
        grads.append(tape.gradient(total, logits).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-7)
    # d/dl (x l - softplus(l)) = x - sigmoid(l)
    np.testing.assert_allclose(
        grads[0], x.numpy() - tf.sigmoid(logits).numpy(), rtol=1e-5, atol=1e-7
    )


def test_gaussian_log_prob_is_normal_density():
    likelihood = GaussianLikelihood(scale=0.5)
    x = tf.constant([[1.0, 2.0, 3.0]])
    mean = tf.constant([[[1.5, 2.0, 2.0]]])
    got = likelihood.log_prob(x, mean, 1).numpy()
    squares = (0.5**2 + 0 + 1.0) / 0.5**2
    want = -0.5 * squares - 3 * np.log(0.5) - 1.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(got, [[want]], rtol=1e-6)
