"""Bad input gets a ValueError that names the problem and the valid choices."""

import numpy as np
import pytest
import tensorflow as tf

import keras_svae


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"prior": "gamma"}, r"Unknown prior 'gamma'.*'normal', 'laplace', 'cauchy'"),
        ({"posterior": "gamma"}, r"Unknown posterior 'gamma'.*'normal', 'laplace', 'cauchy'"),
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
    model = keras_svae.SparseVAE(
        latent_dim=2, data_shape=(4,), encoder_units=(8,), decoder_units=(8,), seed=0, **kwargs
    )
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


# ------------------------------------------------ arguments that used to be ignored
def _patches(n=400, seed=0):
    from keras_svae.data import synthetic_patches

    return synthetic_patches(n, seed=seed).x.reshape(n, -1)


def _small(seed=0, **kwargs):
    options = dict(
        latent_dim=3,
        decoder="linear",
        encoder_units=(8,),
        likelihood_scale=0.1,
        data_shape=(25,),
        seed=seed,
    )
    options.update(kwargs)
    model = keras_svae.SparseVAE(**options)
    model.compile()
    return model


def _weight_change(x, sample_weight=None, batch_size=100):
    model = _small()
    start = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
    model.fit(
        x, sample_weight=sample_weight, epochs=2, batch_size=batch_size, shuffle=False, verbose=0
    )
    return np.concatenate([v.numpy().ravel() for v in model.trainable_variables]) - start


@pytest.mark.slow
def test_sample_weight_weighs_each_example():
    # Every other example has weight 0. Replacing those examples by other data
    # must not change training at all (same batch shapes, so the same latent
    # draws); unweighted training sees them.
    x, other = _patches(400, seed=0), _patches(400, seed=1)
    swapped = x.copy()
    swapped[::2] = other[::2]
    weights = np.ones(len(x), "float32")
    weights[::2] = 0.0
    change = _weight_change(x, weights)
    np.testing.assert_allclose(_weight_change(swapped, weights), change, atol=1e-6)
    unweighted = _weight_change(swapped) - _weight_change(x)
    assert np.linalg.norm(unweighted) > 0.1 * np.linalg.norm(change)


def test_evaluate_reports_the_per_example_mean():
    x = _patches(1100)
    model = _small()
    # The KL is the closed form here, so it has no sampling noise to compare.
    per_batch = model.evaluate(x, batch_size=1000, verbose=0, return_dict=True)
    whole = model.evaluate(x, batch_size=1100, verbose=0, return_dict=True)
    assert model.kl_is_analytic
    assert per_batch["kl"] == pytest.approx(whole["kl"], rel=1e-5)
    weights = np.r_[np.ones(550), np.zeros(550)].astype("float32")
    weighted = model.evaluate(
        x, sample_weight=weights, batch_size=1100, verbose=0, return_dict=True
    )
    first_half = model.evaluate(x[:550], batch_size=550, verbose=0, return_dict=True)
    assert weighted["kl"] == pytest.approx(first_half["kl"], rel=1e-5)
    assert weighted["kl"] != pytest.approx(whole["kl"], rel=1e-3)


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda m, x: m.fit(x, class_weight={0: 1.0}, verbose=0),
            r"class_weight needs class labels.*sample_weight",
        ),
        (lambda m, x: m.fit(x, np.zeros(len(x)), verbose=0), r"takes no labels \(y\)"),
        (lambda m, x: m.evaluate(x, x, verbose=0), r"takes no labels \(y\)"),
        (lambda m, x: m.fit(x[:0], verbose=0), r"The data is empty"),
        (
            lambda m, x: m.fit(tf.data.Dataset.from_tensor_slices(x[:0]).batch(4), verbose=0),
            r"dataset is empty",
        ),
        (
            lambda m, x: m.fit(x, batch_size=0, verbose=0),
            r"batch_size must be an integer >= 1, got 0",
        ),
        (
            lambda m, x: m.fit(x, batch_size=-4, verbose=0),
            r"batch_size must be an integer >= 1, got -4",
        ),
        (lambda m, x: m.fit(None, verbose=0), r"No data: pass the training examples as x"),
        (
            lambda m, x: m.fit(tf.data.Dataset.from_tensor_slices(x), verbose=0),
            r"looks unbatched.*dataset.batch\(n\)",
        ),
        (lambda m, x: m.fit(x * 1e12, verbose=0), r"\|x\| = .*float32.*Standardise"),
        (
            lambda m, x: m.fit(tf.data.Dataset.from_tensor_slices(x * 1e12).batch(50), verbose=0),
            r"exceeds \|x\| = 1e\+08.*Standardise",
        ),
        (lambda m, x: m.fit(x, sample_weight=np.ones(3), verbose=0), r"one weight per example"),
        (lambda m, x: m.fit(x, validation_data=(x, x), verbose=0), r"validation_data: .*no labels"),
    ],
)
def test_fit_arguments_that_cannot_work_are_refused(call, message):
    model = _small()
    before = [v.numpy().copy() for v in model.trainable_variables]
    with pytest.raises(ValueError, match=message):
        call(model, _patches(200))
    for old, variable in zip(before, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(old, variable.numpy())  # nothing was trained


@pytest.mark.parametrize("name", ["metrics", "loss", "weighted_metrics"])
def test_compile_refuses_metrics_and_losses(name):
    model = keras_svae.SparseVAE(latent_dim=2, data_shape=(4,))
    with pytest.raises(ValueError, match=rf"takes no {name}=.*keras_svae.evaluation"):
        model.compile(**{name: ["mse"]})


def test_compile_refuses_zero_steps_per_execution():
    model = keras_svae.SparseVAE(latent_dim=2, data_shape=(4,))
    with pytest.raises(ValueError, match=r"steps_per_execution must be an integer >= 1, got 0"):
        model.compile(steps_per_execution=0)


@pytest.mark.parametrize("spelling", ["Cauchy", "CAUCHY", "cauchy"])
def test_prior_names_are_case_insensitive_everywhere(spelling):
    model = keras_svae.SparseVAE(latent_dim=2, prior=spelling, data_shape=(4,))
    assert model.posterior_family == "cauchy"  # the paper's pairing, whatever the spelling
    assert model.kl_is_analytic
    assert model.get_config()["prior"] == "cauchy"
    other = keras_svae.SparseVAE(
        latent_dim=2,
        prior="Laplace",
        posterior="NORMAL",
        likelihood="Gaussian",
        kl="Auto",
        encoder="MLP",
        decoder="Linear",
        data_shape=(4,),
    )
    assert (other.posterior_family, other.kl_mode) == ("normal", "auto")


def test_bernoulli_check_does_not_depend_on_the_layer_name():
    likelihood = keras_svae.BernoulliLikelihood(name="lik")
    model = keras_svae.SparseVAE(
        latent_dim=2, likelihood=likelihood, data_shape=(4,), encoder_units=(8,), decoder_units=(8,)
    )
    model.compile()
    pixels = tf.data.Dataset.from_tensor_slices(np.full((20, 4), 255.0, "float32")).batch(5)
    with pytest.raises(ValueError, match=r"bernoulli' needs data in \[0, 1\]"):
        model.fit(pixels, verbose=0)


@pytest.mark.parametrize("method", ["sample", "decode", "encode"])
def test_unbuilt_model_says_it_is_not_built(method):
    model = keras_svae.SparseVAE(latent_dim=2)
    call = {
        "sample": lambda: model.sample(4),
        "decode": lambda: model.decode(np.zeros((2, 2), "float32")),
        "encode": lambda: model.posterior(tf.zeros((2, 4))),
    }[method]
    with pytest.raises(ValueError, match=r"not built yet.*data_shape="):
        call()


@pytest.mark.parametrize("beta", ["1", None, [1.0]])
def test_beta_must_be_a_number(beta):
    with pytest.raises(ValueError, match=r"beta must be a number"):
        keras_svae.SparseVAE(latent_dim=2, beta=beta)


def test_float64_prior_is_refused_with_the_fix():
    import tensorflow_probability as tfp

    prior = tfp.distributions.Laplace(tf.zeros([3], tf.float64), 1.0)
    with pytest.raises(ValueError, match=r"prior has dtype float64.*float32"):
        keras_svae.SparseVAE(latent_dim=3, prior=prior)


def test_nan_in_a_tensor_passed_to_encode_is_refused():
    model = keras_svae.SparseVAE(latent_dim=2, data_shape=(4,))
    x = tf.constant([[1.0, np.nan, 0.0, 0.0]])
    with pytest.raises(ValueError, match="1 NaN or Inf values"):
        model.encode(x)


def test_failed_save_leaves_an_existing_model_byte_for_byte(tmp_path):
    import tensorflow_probability as tfp

    good = keras_svae.SparseVAE(latent_dim=2, data_shape=(4,), seed=0)
    path = tmp_path / "m.keras"
    good.save(path)
    before = path.read_bytes()
    unsaveable = keras_svae.SparseVAE(
        latent_dim=2, data_shape=(4,), prior=tfp.distributions.Laplace(tf.zeros([2]), 1.0)
    )
    with pytest.raises(ValueError, match="distribution instance"):
        unsaveable.save(path)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="distribution instance"):
        unsaveable.save(tmp_path / "new.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no 0-byte file, no temp
