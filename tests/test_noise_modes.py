"""The noise options that lower the sampled gradient's variance without the
notebook's bug (keras_svae.quirks): noise="epoch" (common random numbers
redrawn each epoch) and noise="quasi" (randomised Sobol points)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from keras_svae import SparseVAE, distribute
from keras_svae.experiment import ExperimentConfig, build_model, load_experiment_data
from keras_svae.quirks import matrix_for_epoch

X = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")


def small_model(**kwargs):
    options = dict(latent_dim=3, data_shape=(6,), encoder_units=(8,), decoder_units=(8,), seed=4)
    return SparseVAE(**{**options, **kwargs})


class RecordSteps(keras.callbacks.Callback):
    """Each training step's noise matrix and running mean loss, per epoch."""

    def __init__(self):
        super().__init__()
        self.matrices, self.losses = {}, {}

    def on_train_batch_begin(self, batch, logs=None):
        matrix = getattr(self.model, "fixed_noise", None)  # None for fresh noise
        self.matrices.setdefault(self.epoch, []).append(None if matrix is None else matrix.numpy())

    def on_train_batch_end(self, batch, logs=None):
        self.losses.setdefault(self.epoch, []).append(float(logs["loss"]))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


def steps_of(model, epochs=2, initial_epoch=0):
    """Train ``model`` at learning rate 0 on two identical batches per epoch
    (so steps' losses agree exactly when, and only when, their noise does)."""
    model.compile(optimizer=keras.optimizers.Adam(0.0), steps_per_execution=1)
    record = RecordSteps()
    batches = tf.data.Dataset.from_tensor_slices(np.concatenate([X[:16], X[:16]])).batch(16)
    model.fit(batches, epochs=epochs, initial_epoch=initial_epoch, verbose=0, callbacks=[record])
    return record


def test_epoch_noise_is_one_matrix_per_epoch_drawn_from_seed_and_epoch():
    model = small_model(prior="cauchy", noise="epoch", noise_batch_size=16)
    record = steps_of(model)
    for epoch in (0, 1):
        first, second = record.matrices[epoch]
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(first, matrix_for_epoch(model, epoch))
        # The steps use it: the second step's loss is the first's.
        assert record.losses[epoch][0] == record.losses[epoch][1]
    assert not np.array_equal(record.matrices[0][0], record.matrices[1][0])
    assert record.losses[0][0] != record.losses[1][0]
    # Fresh noise, for contrast: each step its own draw.
    fresh = steps_of(small_model(prior="cauchy"))
    assert fresh.losses[0][0] != fresh.losses[0][1]
    # A resumed run (initial_epoch) redraws its epoch's matrix, not epoch 0's.
    resumed = steps_of(small_model(prior="cauchy", noise="epoch", noise_batch_size=16), 2, 1)
    np.testing.assert_array_equal(resumed.matrices[1][0], record.matrices[1][0])
    # The matrix is Cauchy noise (median |eps| 1), another seed's another one.
    big = small_model(prior="cauchy", noise="epoch", noise_batch_size=4000)
    assert abs(np.median(np.abs(big.fixed_noise.numpy())) - 1.0) < 0.03
    other = small_model(prior="cauchy", noise="epoch", noise_batch_size=16, seed=5)
    assert not np.array_equal(other.fixed_noise.numpy(), matrix_for_epoch(model, 0))


def test_epoch_noise_is_saved_and_training_goes_on_redrawing(tmp_path):
    model = small_model(prior="cauchy", noise="epoch", noise_batch_size=16, seed=11)
    steps_of(model)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert (loaded.noise, loaded.noise_batch_size) == ("epoch", 16)
    np.testing.assert_array_equal(loaded.fixed_noise.numpy(), matrix_for_epoch(model, 1))
    x = tf.constant(X[:16])
    np.testing.assert_allclose(
        loaded.loss_terms(x, training=True)[0], model.loss_terms(x, training=True)[0], rtol=1e-5
    )
    record = steps_of(loaded, epochs=3, initial_epoch=2)
    np.testing.assert_array_equal(record.matrices[2][0], matrix_for_epoch(model, 2))
    # Evaluation draws fresh noise.
    q = loaded.posterior(x)
    seed = tf.constant([1, 2])
    np.testing.assert_array_equal(
        loaded.training_latents(q, seed, None, training=False), distribute.draw_latents(q, 1, seed)
    )


def test_quasi_noise_is_shifted_sobol_points_through_the_inverse_cdf():
    model = small_model(prior="cauchy", noise="quasi", noise_batch_size=32)
    points = model.fixed_noise.numpy()[0]  # [32, 3] uniforms
    # A scrambled Sobol net: in each coordinate one point in each 1/32.
    for k in range(3):
        assert sorted(np.floor(points[:, k] * 32).astype(int)) == list(range(32))
    q = model.posterior(tf.constant(X))
    loc, scale = q.distribution.loc.numpy(), q.distribution.scale.numpy()
    draws = []
    for seed in ([1, 2], [3, 4]):
        z = model.training_latents(q, tf.constant(seed), None, training=True).numpy()[0]
        uniform = stats.cauchy.cdf((z - loc) / scale)  # back to [0, 1)
        shift = (uniform - points) % 1.0  # one shift per coordinate, the same for every row
        apart = (shift - shift[0]) % 1.0
        assert np.max(np.minimum(apart, 1.0 - apart)) < 1e-3
        draws.append(shift[0])
    assert not np.allclose(draws[0], draws[1], atol=1e-3)  # each step its own shift


def test_quasi_noise_draws_the_posterior_family():
    rows = np.random.default_rng(1).normal(size=(4096, 6)).astype("float32")
    for prior, posterior, law in (("cauchy", None, "cauchy"), ("normal", None, "norm"),
                                  ("laplace", "laplace", "laplace")):  # fmt: skip
        model = small_model(prior=prior, posterior=posterior, noise="quasi", noise_batch_size=4096)
        q = model.posterior(tf.constant(rows))
        z = model.training_latents(q, tf.constant([7, 8]), None, training=True).numpy()[0]
        eps = (z - q.distribution.loc.numpy()) / q.distribution.scale.numpy()
        assert stats.kstest(eps.ravel(), law).statistic < 0.01, prior


@pytest.mark.parametrize("noise", ["epoch", "quasi"])
def test_the_noise_options_train_and_survive_get_config(noise):
    model = small_model(prior="cauchy", noise=noise, noise_batch_size=16)
    config = SparseVAE.from_config(model.get_config()).get_config()
    for key in ("noise", "noise_batch_size", "noise_alpha"):
        assert config[key] == model.get_config()[key]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [w.numpy() for w in model.trainable_weights]
    history = model.fit(X, epochs=2, batch_size=16, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.trainable_weights))


def test_a_run_config_names_and_builds_the_noise_and_the_clipping():
    config = ExperimentConfig(data="synthetic", prior="cauchy", noise="epoch", clipnorm=1.0,
                              n_train=400, n_test=200, iwae_k=2, n_eval=20)  # fmt: skip
    assert config.name == "synthetic-cauchy-z10-epoch_noise-clip1"
    model = build_model(config, load_experiment_data(config))
    assert (model.noise, model.noise_batch_size) == ("epoch", config.batch_size)
    assert model.optimizer.global_clipnorm == 1.0
    default = ExperimentConfig(data="synthetic", prior="cauchy")
    assert (default.name, default.clipnorm) == ("synthetic-cauchy-z10", 10.0)
