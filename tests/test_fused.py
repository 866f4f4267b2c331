"""Fused execution gives what Keras' own loop gives, only faster."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_svae
from keras_svae.data import synthetic_patches


@pytest.fixture(scope="module")
def patches():
    return synthetic_patches(1000, seed=0)


def _trained(x, fuse_steps, epochs=2, batch_size=64, steps_per_execution=4, **fit):
    keras.utils.set_random_seed(0)
    model = keras_svae.SparseVAE(
        latent_dim=10,
        prior="laplace",
        decoder="linear",
        likelihood_scale=0.1,
        encoder_units=(32,),
        seed=0,
        data_shape=x.shape[1:],
    )
    model.compile(jit_compile=True, steps_per_execution=steps_per_execution, fuse_steps=fuse_steps)
    history = model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=False, **fit)
    return model, history.history


def _function_module(model):
    return model.train_function.__module__


@pytest.mark.slow
def test_fused_matches_keras_loop_with_a_smaller_last_batch(patches):
    # 1000 = 15 x 64 + 40: each epoch ends in a batch of another shape, run
    # after the fused run of same-shaped batches.
    fused, fused_history = _trained(patches.x, fuse_steps=True)
    keras_loop, keras_history = _trained(patches.x, fuse_steps=False)
    assert _function_module(fused) == "keras_svae.fused"
    assert _function_module(keras_loop) != "keras_svae.fused"
    assert int(fused.optimizer.iterations) == int(keras_loop.optimizer.iterations) == 32
    for key in ("loss", "reconstruction", "kl"):
        np.testing.assert_allclose(fused_history[key], keras_history[key], rtol=1e-4)
    for a, b in zip(fused.weights, keras_loop.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)

    x = patches.x[:300]
    got = fused.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    want = keras_loop.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert fused.test_function.__module__ == "keras_svae.fused"
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4)


@pytest.mark.slow
def test_fused_dataset_of_tuples_and_steps_per_epoch(patches):
    # (x,) elements, and a repeated dataset cut by steps_per_epoch=12, three
    # executions of 4 steps: 24 steps in 2 epochs on both paths (a
    # steps_per_epoch that 4 does not divide is refused: check_epoch_steps).
    data = tf.data.Dataset.from_tensor_slices((patches.x,)).batch(50, drop_remainder=True).repeat()
    runs = {}
    for fuse in (True, False):
        keras.utils.set_random_seed(0)
        model = keras_svae.SparseVAE(
            latent_dim=10,
            decoder="linear",
            encoder_units=(32,),
            likelihood_scale=0.1,
            seed=0,
            data_shape=patches.x.shape[1:],
        )
        model.compile(jit_compile=True, steps_per_execution=4, fuse_steps=fuse)
        history = model.fit(data, epochs=2, steps_per_epoch=12, verbose=0)
        runs[fuse] = (int(model.optimizer.iterations), history.history["loss"])
    assert runs[True][0] == runs[False][0] == 24
    np.testing.assert_allclose(runs[True][1], runs[False][1], rtol=1e-4)


@pytest.mark.parametrize(
    "compile_kwargs",
    [
        dict(jit_compile=False, steps_per_execution=4),
        dict(jit_compile=True, steps_per_execution=1),
        dict(jit_compile=True, steps_per_execution=4, fuse_steps=False),
        dict(jit_compile=True, steps_per_execution=4, run_eagerly=True),
    ],
)
@pytest.mark.slow
def test_keras_loop_where_fusing_does_not_apply(compile_kwargs, patches):
    model = keras_svae.SparseVAE(
        latent_dim=10, decoder="linear", encoder_units=(32,), likelihood_scale=0.1, seed=0
    )
    model.compile(**compile_kwargs)
    history = model.fit(patches.x[:256], epochs=1, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert _function_module(model) != "keras_svae.fused"


@pytest.mark.slow
def test_fused_training_still_refuses_bad_data(patches):
    model = keras_svae.SparseVAE(
        latent_dim=10, decoder="linear", encoder_units=(32,), likelihood_scale=0.1, seed=0
    )
    model.compile(jit_compile=True, steps_per_execution=4)
    x = patches.x.copy()
    x[700, 3] = np.nan
    data = tf.data.Dataset.from_tensor_slices(x).batch(64)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.fit(data, epochs=1, verbose=0)


@pytest.mark.slow
def test_fused_validation_matches_keras_loop(patches):
    losses = {}
    for fuse in (True, False):
        model, history = _trained(
            patches.x[:640], fuse_steps=fuse, epochs=1, validation_data=patches.x[640:]
        )
        assert model.test_function is not None
        losses[fuse] = history["val_loss"][0]
    assert np.isfinite(losses[True])
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)
