"""Bad input gets a ValueError that names the problem and the valid choices."""

import numpy as np
import pytest
import tensorflow as tf

import keras_svae


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"prior": "gamma"}, r"Unknown prior 'gamma'.*'normal', 'laplace', 'cauchy'"),
        ({"posterior": "laplace"}, r"Unknown posterior 'laplace'.*'normal', 'cauchy'"),
        ({"likelihood": "poisson"}, r"Unknown likelihood 'poisson'.*'bernoulli', 'gaussian'"),
        ({"kl": "exact"}, r"Unknown kl mode 'exact'.*'auto', 'analytic', 'sampled'"),
        ({"encoder": "rnn"}, r"Unknown encoder 'rnn'.*'mlp', 'conv'"),
        ({"decoder": "rnn"}, r"Unknown decoder 'rnn'.*'mlp', 'linear', 'conv'"),
        ({"latent_dim": 0}, r"latent_dim must be an integer >= 1, got 0"),
        ({"latent_dim": 2.5}, r"latent_dim must be an integer >= 1"),
        ({"prior_scale": 0.0}, r"prior_scale must be a positive finite number, got 0.0"),
        ({"prior_scale": -1}, r"prior_scale must be a positive"),
        ({"likelihood_scale": float("nan")}, r"likelihood_scale must be a positive"),
        ({"n_samples": 0}, r"n_samples must be an integer >= 1"),
        ({"beta": -0.5}, r"beta must be a finite number >= 0"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    options = {"latent_dim": 3, "data_shape": (4,), **kwargs}
    with pytest.raises(ValueError, match=message):
        keras_svae.SparseVAE(**options)


def test_conv_needs_images_divisible_by_four():
    with pytest.raises(ValueError, match=r"divisible by 4.*\(10, 10, 1\)"):
        keras_svae.SparseVAE(latent_dim=2, encoder="conv", data_shape=(10, 10, 1))


def _compiled(**kwargs):
    model = keras_svae.SparseVAE(latent_dim=2, data_shape=(4,), encoder_units=(8,),
                                 decoder_units=(8,), seed=0, **kwargs)
    model.compile()
    return model


def test_shape_mismatch_is_refused():
    model = _compiled()
    wrong = np.zeros((10, 5), "float32")
    with pytest.raises(ValueError, match=r"shape \(5,\).*built for examples of shape \(4,\)"):
        model.fit(wrong, verbose=0)
    with pytest.raises(ValueError, match=r"shape \(5,\).*\(4,\)"):
        model.fit(tf.data.Dataset.from_tensor_slices(wrong).batch(5), verbose=0)
    with pytest.raises(ValueError, match=r"shape \(5,\).*\(4,\)"):
        model.encode(wrong)
    with pytest.raises(ValueError, match=r"z must have shape \(n, 2\)"):
        model.decode(np.zeros((3, 3), "float32"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_is_refused_before_training(bad):
    model = _compiled()
    x = np.ones((20, 4), "float32")
    x[7, 2] = bad
    with pytest.raises(ValueError, match="1 NaN or Inf values"):
        model.fit(x, verbose=0)
    assert model.optimizer.iterations.numpy() == 0  # refused before any step
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.fit(dataset, verbose=0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.evaluate(x, verbose=0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.fit(np.ones((20, 4), "float32"), validation_data=x, verbose=0)
    assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)


def test_bernoulli_needs_data_in_unit_interval():
    model = _compiled(likelihood="bernoulli")
    pixels = np.full((20, 4), 255.0, "float32")
    with pytest.raises(ValueError, match=r"bernoulli.*\[0, 1\].*\[255, 255\].*divide"):
        model.fit(pixels, verbose=0)
    with pytest.raises(ValueError, match=r"bernoulli' needs data in \[0, 1\]"):
        model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(5), verbose=0)
    history = model.fit(pixels / 255.0, verbose=0)  # the fix the message names works
    assert np.isfinite(history.history["loss"][0])


def test_analytic_kl_without_closed_form_is_refused():
    with pytest.raises(ValueError, match=r"kl='analytic'.*KL\(Normal \|\| Cauchy\)"):
        keras_svae.SparseVAE(latent_dim=2, prior="cauchy", posterior="normal", kl="analytic")


def test_custom_prior_with_wrong_shape_is_refused():
    import tensorflow_probability as tfp

    wrong = tfp.distributions.Normal(tf.zeros([3]), 1.0)
    with pytest.raises(ValueError, match=r"event shape \[5\].*latent_dim=5"):
        keras_svae.SparseVAE(latent_dim=5, prior=wrong)
