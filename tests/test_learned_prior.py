"""Unit-norm decoder columns, a learned prior scale, the thresholds' prior
weighted over the training set, and resampling of dead atoms."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import stats

from keras_svae import SparseVAE, evaluation
from keras_svae.export.loading import prior_parameters
from keras_svae.export.sampling import sample_prior
from keras_svae.kl import kl_divergence
from keras_svae.resampling import ResampleDeadAtoms
from keras_svae.thresholds import threshold_kl

tfd = tfp.distributions


def data(n=256, d=16, seed=0):
    return np.random.default_rng(seed).laplace(size=(n, d)).astype("float32")


def dictionary_model(latents=8, **kwargs):
    options = dict(prior="laplace", decoder="linear", encoder_units=(16,), seed=0)
    return SparseVAE(latents, data_shape=(16,), **(options | kwargs))


def column_norms(model):
    return np.linalg.norm(model.decoder.layers[0].kernel.numpy(), axis=1)


def test_unit_norm_columns_hold_after_training_steps():
    model = dictionary_model(unit_norm_decoder=True)
    np.testing.assert_allclose(column_norms(model), 1.0, atol=1e-5)
    before = model.decoder.layers[0].kernel.numpy()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(data(), epochs=2, batch_size=32, verbose=0)
    assert not np.allclose(model.decoder.layers[0].kernel.numpy(), before)  # it trained
    np.testing.assert_allclose(column_norms(model), 1.0, atol=1e-5)
    free = dictionary_model()
    free.compile(optimizer=keras.optimizers.Adam(0.05))
    free.fit(data(), epochs=2, batch_size=32, verbose=0)
    assert np.abs(column_norms(free) - 1.0).max() > 0.05  # without it, norms move


@pytest.mark.parametrize("mode, shape", [("shared", ()), ("per_latent", (8,))])
def test_a_learned_prior_scale_trains_and_round_trips(mode, shape, tmp_path):
    model = dictionary_model(learn_prior_scale=mode, prior_scale=0.5, unit_norm_decoder=True)
    assert model.raw_prior_scale.shape == shape
    np.testing.assert_allclose(model.prior_scales().numpy(), 0.5, rtol=1e-6)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(data(), epochs=3, batch_size=32, verbose=0)
    scales = model.prior_scales().numpy()
    assert np.abs(scales - 0.5).max() > 0.02  # the ELBO moved it
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.prior_scales().numpy(), scales, rtol=1e-6)
    inner = loaded.prior.distribution
    np.testing.assert_allclose(np.broadcast_to(inner.scale, (8,)), scales, rtol=1e-6)
    # The KL is still the closed form, at the learned scale.
    assert loaded.kl_is_analytic
    q = tfd.Independent(tfd.Normal(tf.zeros([1, 8]), tf.ones([1, 8])), 1)
    expected = kl_divergence(q, tfd.Independent(tfd.Laplace(tf.zeros(8), scales), 1), None)
    got = kl_divergence(q, loaded.prior, None)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)


def test_the_export_samples_the_learned_prior():
    model = dictionary_model(learn_prior_scale="per_latent")
    model.raw_prior_scale.assign(np.log(np.expm1(np.linspace(0.2, 3.0, 8))).astype("float32"))
    params = prior_parameters(model)
    np.testing.assert_allclose(params["scale"], np.linspace(0.2, 3.0, 8), rtol=1e-5)
    z = sample_prior(params, 4000, seed=3)
    scales = np.linspace(0.2, 3.0, 8)
    for j in range(8):
        assert stats.kstest(z[:, j] / scales[j], stats.laplace.cdf).pvalue > 1e-3
    # The sampler has the power to tell: the fixed scale 1 is rejected.
    assert stats.kstest(z[:, 0], stats.laplace.cdf).pvalue < 1e-6


def test_learned_threshold_prior_is_spread_over_the_training_set():
    x = data()
    losses = {}
    for train_size in (None, 1000):
        model = dictionary_model(posterior="laplace", threshold="learned", train_size=train_size)
        model.kl_weight.assign(1.0)
        losses[train_size] = float(model.learned_prior_losses()[0])
    term = float(threshold_kl(tf.fill([8], 0.1), 2.0, 20.0))
    np.testing.assert_allclose(losses[None], term, rtol=1e-5)
    np.testing.assert_allclose(losses[1000], term / 1000, rtol=1e-5)
    model = dictionary_model(posterior="laplace", threshold="learned", train_size=len(x))
    assert SparseVAE.from_config(model.get_config()).train_size == len(x)


def test_defaults_leave_the_model_as_before():
    model = dictionary_model()
    assert model.learn_prior_scale is None and not model.unit_norm_decoder
    assert model.prior is model.fixed_prior
    assert [w.name for w in model.trainable_weights if "prior" in w.name] == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(learn_prior_scale="yes"), "learn_prior_scale must be None, 'shared'"),
        (dict(learn_prior_scale="shared", prior="horseshoe"), "named location-scale prior"),
        (dict(unit_norm_decoder=True, decoder="mlp"), 'Use decoder="linear"'),
        (dict(unit_norm_decoder=1), "unit_norm_decoder must be True or False"),
        (dict(train_size=0), "train_size must be None or the number"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dictionary_model(**kwargs)


def kill_latents(model, latents):
    """Make ``latents`` dead atoms: a constant code and a vanishing atom."""
    output = model.encoder.layers[-1]
    kernel, bias = output.kernel.numpy(), output.bias.numpy()
    kernel[:, latents], bias[latents] = 0.0, 0.0
    output.kernel.assign(kernel)
    output.bias.assign(bias)
    atoms = model.decoder.layers[0].kernel
    atoms.assign(
        atoms.numpy() * np.where(np.isin(np.arange(atoms.shape[0]), latents), 1e-3, 1)[:, None]
    )


def test_resampling_revives_dead_atoms():
    rng = np.random.default_rng(0)
    bases = rng.normal(size=(4, 16)).astype("float32")
    codes = rng.laplace(size=(2000, 4)) * (rng.random((2000, 4)) < 0.3)
    x = (codes @ bases + 0.05 * rng.normal(size=(2000, 16))).astype("float32")
    model = dictionary_model(16, likelihood_scale=0.05)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=2, batch_size=64, verbose=0)
    kill_latents(model, np.arange(8, 16))
    dead = ~evaluation.informative_latents(model, x[:1000])
    np.testing.assert_array_equal(np.flatnonzero(dead), np.arange(8, 16))
    callback = ResampleDeadAtoms(x[:1000], seed=0)
    callback.set_model(model)
    before = model.decoder.layers[0].kernel.numpy()
    residual = x[:1000] - np.asarray(model.reconstruct(x[:1000]))
    resampled = callback.resample()
    np.testing.assert_array_equal(resampled, np.flatnonzero(dead))
    after = model.decoder.layers[0].kernel.numpy()
    np.testing.assert_array_equal(after[~dead], before[~dead])  # the living are untouched
    # Each new atom is the direction of some example's residual.
    cosines = np.abs(after[dead] @ residual.T) / (
        np.linalg.norm(after[dead], axis=1)[:, None] * np.linalg.norm(residual, axis=1)
    )
    assert np.all(cosines.max(axis=1) > 0.999)
    # ... and the encoder now infers them: the revived latents vary with x.
    codes_after = np.asarray(model.encode(x[:1000]).mean())
    assert codes_after[:, dead].std(axis=0).min() > 0.01


def test_resampling_logs_and_refuses_other_decoders():
    x = data()
    model = dictionary_model(32)
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=3, verbose=0, callbacks=[ResampleDeadAtoms(x, until=2)])
    assert len(history.history["dead_atoms"]) == 2
    mlp = SparseVAE(4, encoder_units=(8,), decoder_units=(8,), data_shape=(16,))
    mlp.compile(optimizer="adam")
    with pytest.raises(ValueError, match="decoder='linear'"):
        mlp.fit(x, epochs=1, verbose=0, callbacks=[ResampleDeadAtoms(x)])
    with pytest.raises(ValueError, match="at least 2 finite training examples"):
        ResampleDeadAtoms(np.full((4, 16), np.nan))
