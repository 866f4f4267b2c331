"""The paper author's notebook quirks (keras_svae.quirks): fixed noise and the
Normal notebooks' KL, each off by default."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_svae import SparseVAE, distribute
from keras_svae.posteriors import posterior_from_params
from keras_svae.quirks import variance_as_scale_kl

X = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")


def small_model(**kwargs):
    options = dict(latent_dim=3, data_shape=(6,), encoder_units=(8,), decoder_units=(8,), seed=4)
    return SparseVAE(**{**options, **kwargs})


def weights_after_fit(model, epochs=2, batch_size=8, learning_rate=1e-2):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    history = model.fit(X, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    return model.get_weights(), history.history


def test_fixed_noise_is_the_same_in_every_training_step():
    # Learning rate 0 and one batch per epoch without shuffling: each epoch's
    # loss is one training step on the same weights and examples, so the
    # steps' losses agree exactly when, and only when, their noise does.
    def epoch_losses(**kwargs):
        model = small_model(prior="cauchy", **kwargs)
        _, history = weights_after_fit(model, epochs=3, batch_size=32, learning_rate=0.0)
        return history["loss"]

    fixed = epoch_losses(noise="fixed", noise_batch_size=32)
    assert fixed[0] == fixed[1] == fixed[2]
    fresh = epoch_losses()
    assert len(set(fresh)) == 3


def test_fixed_noise_is_loc_plus_scale_times_the_stored_matrix():
    model = small_model(prior="laplace", posterior="laplace", noise="fixed", noise_batch_size=32)
    stored = model.fixed_noise.numpy()
    assert stored.shape == (1, 32, 3)
    assert "fixed_noise" not in [w.name for w in model.trainable_weights]
    q = model.posterior(tf.constant(X))
    seed = tf.constant([1, 2])
    z = model.training_latents(q, seed, None, training=True).numpy()
    loc, scale = q.distribution.loc.numpy(), q.distribution.scale.numpy()
    np.testing.assert_allclose(z, loc + scale * stored, rtol=1e-6)
    # Evaluation draws fresh noise, as the default path does.
    fresh = model.training_latents(q, seed, None, training=False)
    np.testing.assert_array_equal(fresh, distribute.draw_latents(q, 1, seed))
    # Training leaves the matrix as it was.
    weights_after_fit(model, batch_size=32)
    np.testing.assert_array_equal(model.fixed_noise.numpy(), stored)


def test_fixed_noise_is_saved_with_the_model(tmp_path):
    model = small_model(prior="cauchy", noise="fixed", noise_batch_size=8, seed=11)
    weights_after_fit(model)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.noise == "fixed" and loaded.noise_batch_size == 8
    np.testing.assert_array_equal(loaded.fixed_noise.numpy(), model.fixed_noise.numpy())
    # Not a fresh draw that happens to match: another seed draws another matrix.
    other = small_model(prior="cauchy", noise="fixed", noise_batch_size=8, seed=12)
    assert not np.array_equal(other.fixed_noise.numpy(), model.fixed_noise.numpy())
    x = tf.constant(X[:8])
    np.testing.assert_allclose(
        loaded.loss_terms(x, training=True)[0], model.loss_terms(x, training=True)[0], rtol=1e-5
    )


def test_fixed_noise_follows_the_posterior_family_or_alpha():
    def noise(**kwargs):
        return small_model(noise="fixed", noise_batch_size=4000, **kwargs).fixed_noise.numpy()

    normal = noise(prior="normal")
    assert abs(normal.std() - 1.0) < 0.02
    laplace = noise(prior="laplace", posterior="laplace")
    assert abs(np.mean(np.abs(laplace)) - 1.0) < 0.02  # Laplace(0, 1): E|eps| = 1
    for kwargs in ({}, {"noise_alpha": 1.0}):  # the standard Cauchy: median |eps| = 1
        assert abs(np.median(np.abs(noise(prior="cauchy", **kwargs))) - 1.0) < 0.03
    # alpha 2 is the Normal of the alpha-stable law's standard scale: variance 2.
    assert abs(noise(prior="cauchy", noise_alpha=2.0).std() - math.sqrt(2.0)) < 0.03


def test_defaults_train_exactly_as_before_and_fixed_noise_changes_the_run():
    default, _ = weights_after_fit(small_model(prior="cauchy"))
    explicit = small_model(
        prior="cauchy", noise="fresh", noise_batch_size=None, noise_alpha=None, kl_quirk=None
    )
    assert [w.name for w in explicit.weights] == [w.name for w in small_model().weights]
    explicit, _ = weights_after_fit(explicit)
    for a, b in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(a, b)
    fixed, _ = weights_after_fit(small_model(prior="cauchy", noise="fixed", noise_batch_size=8))
    assert not all(np.array_equal(a, b) for a, b in zip(default, fixed, strict=True))


def test_the_default_path_draws_what_draw_latents_draws():
    model = small_model(prior="cauchy")
    q = model.posterior(tf.constant(X))
    seed = tf.constant([5, 6])
    for training in (True, False):
        np.testing.assert_array_equal(
            model.training_latents(q, seed, None, training=training),
            distribute.draw_latents(q, 1, seed),
        )


def test_variance_as_scale_kl_is_the_notebook_formula():
    # mu = (0.5, -1), l = (0.2, -0.3): -0.5 * sum(1 + l - mu^2 - exp(l)), by hand:
    # (1 + 0.2 - 0.25 - 1.2214028) + (1 - 0.3 - 1 - 0.7408182) = -1.3122210.
    q = posterior_from_params("normal", tf.constant([[0.5, -1.0, 0.2, -0.3]]), "exp")
    np.testing.assert_allclose(variance_as_scale_kl(q), [0.6561105], rtol=1e-6)
    # The true KL of N(mu, sd exp(l)) against N(0, 1), sum(-l + (exp(2l) + mu^2) / 2
    # - 1/2) = 0.1709124 + 0.5744058, is another number.
    standard = posterior_from_params("normal", tf.zeros([1, 4]), "exp")
    np.testing.assert_allclose(q.kl_divergence(standard), [0.7453182], rtol=1e-6)


def test_the_kl_quirk_is_the_loss_and_kl_stays_the_true_kl():
    options = dict(prior="normal", scale_activation="exp")
    model = small_model(kl_quirk="variance_as_scale", **options)
    x = tf.constant(X)
    loss, reconstruction, kl = model.loss_terms(x, training=True)
    q = model.posterior(x)
    np.testing.assert_allclose(loss - reconstruction, variance_as_scale_kl(q), rtol=1e-5)
    np.testing.assert_allclose(kl, q.kl_divergence(model.prior), rtol=1e-5)
    plain = small_model(**options)
    loss, reconstruction, kl = plain.loss_terms(x, training=True)
    np.testing.assert_allclose(loss - reconstruction, kl, rtol=1e-5)
    weights, _ = weights_after_fit(small_model(kl_quirk="variance_as_scale", **options))
    before, _ = weights_after_fit(small_model(**options))
    assert not all(np.array_equal(a, b) for a, b in zip(weights, before, strict=True))


@pytest.mark.parametrize("noise", ["fresh", "fixed"])
def test_the_options_survive_get_config(noise):
    kwargs = dict(noise_batch_size=8, noise_alpha=1.5) if noise == "fixed" else {}
    model = small_model(prior="normal", scale_activation="exp", noise=noise,
                        kl_quirk="variance_as_scale", **kwargs)  # fmt: skip
    config = SparseVAE.from_config(model.get_config()).get_config()
    for key in ("noise", "noise_batch_size", "noise_alpha", "kl_quirk"):
        assert config[key] == model.get_config()[key]


def test_the_saved_laplace_notebook_state_is_the_laplace_prior_with_the_normal_kl():
    model = small_model(prior="laplace", scale_activation="exp", kl="sampled",
                        kl_quirk="variance_as_scale")  # fmt: skip
    x = tf.constant(X)
    loss, reconstruction, kl = model.loss_terms(x, training=True)
    np.testing.assert_allclose(loss - reconstruction, variance_as_scale_kl(model.posterior(x)),
                               rtol=1e-5)  # fmt: skip
    assert model.prior.distribution.__class__.__name__ == "Laplace"


@pytest.mark.parametrize("jit_compile", [False, True])
def test_a_pipeline_of_other_batches_fails_loudly(jit_compile):
    # The batch size of a pipeline without drop_remainder is unknown until a
    # step: the step's check (or, under XLA, which drops it, a shape error)
    # stops training instead of reusing noise rows.
    model = small_model(prior="cauchy", noise="fixed", noise_batch_size=16)
    model.compile(jit_compile=jit_compile)
    batches = tf.data.Dataset.from_tensor_slices(X).batch(8)
    assert batches.element_spec.shape[0] is None
    error = ValueError if not jit_compile else (ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(error):
        model.fit(batches, epochs=1, verbose=0)
    if not jit_compile:
        with pytest.raises(ValueError, match=r"batches of 16 examples; a training batch had "):
            model.fit(batches, epochs=1, verbose=0)
    model.fit(tf.data.Dataset.from_tensor_slices(X).batch(16), epochs=1, verbose=0)
