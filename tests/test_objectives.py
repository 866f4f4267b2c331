"""SparseVAE's exact zeros (threshold=) and importance-weighted objective."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_svae import SparseVAE, evaluation
from keras_svae.data.synthetic import synthetic_patches

X = synthetic_patches(1000, seed=0).x.reshape(1000, 25).astype("float32")


def _model(**options):
    options = {"latent_dim": 10, "prior": "laplace", "decoder": "linear",
               "encoder_units": (32,), "seed": 3, "data_shape": (25,), **options}  # fmt: skip
    model = SparseVAE(**options)
    model.compile()
    return model


@pytest.mark.parametrize("posterior", ["normal", "laplace"])
def test_fixed_threshold_gives_exact_zeros_at_the_expected_rate(posterior):
    model = _model(posterior=posterior, threshold=0.2)
    history = model.fit(X, batch_size=100, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    q = model.encode(X[:500])
    z = q.sample(20, seed=(4, 5)).numpy()
    expected = q.zero_probability().numpy().mean()
    assert 0.02 < expected < 0.98
    assert abs((z == 0).mean() - expected) < 0.01  # 100,000 draws: SE < 0.002
    codes = evaluation.codes(model, X[:500])  # the mode: the soft-thresholded location
    loc = q.distribution.distribution.loc.numpy()
    assert np.array_equal(codes == 0, np.abs(loc) <= 0.2)
    assert evaluation.l0_curve(codes, [0.0])[0] == (codes == 0).mean() > 0


def test_thresholded_gradients_are_finite_and_reach_the_encoder():
    model = _model(posterior="laplace", threshold=0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.loss_terms(tf.constant(X[:100]), training=True)[0])
    gradients = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and np.all(np.isfinite(g)) for g in gradients)
    assert all(np.any(np.asarray(g) != 0) for g in gradients)


def test_learned_thresholds_train_with_their_gamma_prior(tmp_path):
    model = _model(posterior="laplace", threshold="learned", threshold_prior=(2.0, 20.0))
    start = model.thresholds().numpy()
    np.testing.assert_allclose(start, 0.1, rtol=1e-5)  # the prior's mean
    model.fit(X, batch_size=100, epochs=3, verbose=0)
    learned = model.thresholds().numpy()
    assert np.all(np.isfinite(learned)) and np.all(learned > 0)
    assert np.max(np.abs(learned - start)) > 1e-4  # they moved
    path = tmp_path / "threshold.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.thresholds().numpy(), learned)
    assert loaded.get_config()["threshold"] == "learned"


def test_iwae_with_one_sample_is_the_elbo_with_the_sampled_kl():
    iwae = _model(objective="iwae", n_samples=1)
    elbo = _model(kl="sampled")
    elbo.set_weights(iwae.get_weights())
    x = tf.constant(X[:200])
    iwae_loss, _, _ = iwae.loss_terms(x)
    elbo_loss, _, _ = elbo.loss_terms(x)  # the same seed, so the same draws
    np.testing.assert_allclose(iwae_loss.numpy(), elbo_loss.numpy(), rtol=1e-5, atol=1e-5)


def test_iwae_with_k_samples_is_tighter_than_the_elbo_on_the_same_draws():
    model = _model(objective="iwae", n_samples=8, kl="sampled")
    loss, reconstruction, kl = model.loss_terms(tf.constant(X[:200]))
    elbo_loss = (reconstruction + kl).numpy()  # the mean of -log w over the 8 draws
    assert np.all(loss.numpy() <= elbo_loss + 1e-4)
    assert np.mean(elbo_loss - loss.numpy()) > 1e-3  # strictly tighter on average
    history = model.fit(X, batch_size=100, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"prior": "cauchy", "threshold": 0.1}, "exact zeros for the 'normal' and 'laplace'"),
        ({"posterior": "laplace", "threshold": 0.1, "objective": "iwae"}, "needs log q"),
        ({"posterior": "laplace", "threshold": -1.0}, "finite number >= 0"),
        ({"posterior": "laplace", "threshold": "big"}, 'a number >= 0 or "learned"'),
        ({"threshold": "learned", "threshold_prior": (0, 1)}, "positive numbers"),
        ({"objective": "mle"}, "Unknown objective 'mle'"),
    ],
)
def test_bad_thresholds_and_objectives_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SparseVAE(latent_dim=3, **options)
