"""The checkpoint the workers of a multi-worker run agree on, read from real
``keras.callbacks.BackupAndRestore`` files. The agreement between processes
is tested end to end in tests/test_distribute.py (a killed worker)."""

import keras
import numpy as np
import pytest

from keras_svae import SparseVAE
from keras_svae.experiment.workers import (
    FRESH,
    agree_on_checkpoint,
    agreed_checkpoint,
    checkpoint_state,
    restore_previous_checkpoint,
)


@pytest.mark.parametrize(
    "states, agreed",
    [
        ([((3, 0), (2, 0)), ((3, 0), (2, 0))], (3, 0)),  # in step
        ([((3, 0), (2, 0)), ((2, 0), (1, 0))], (2, 0)),  # the first one save ahead
        ([((2, 0), (1, 0)), ((3, 0), (2, 0))], (2, 0)),  # the second one ahead
        ([((1, 7), (1, 0)), ((1, 0), (0, 9))], (1, 0)),  # mid-epoch saves
        ([((4, 0), (3, 0)), ((2, 0), (1, 0))], FRESH),  # two saves apart: start over
        ([((1, 0), None), (None, None)], FRESH),  # one never saved
        ([(None, None), (None, None)], FRESH),
    ],
)
def test_the_agreed_checkpoint_is_the_latest_every_worker_holds(states, agreed):
    assert agreed_checkpoint(states) == agreed


def _model():
    model = SparseVAE(latent_dim=3, prior="laplace", decoder="linear", encoder_units=(8,), seed=0)
    model.compile()
    return model


def test_going_back_one_checkpoint_restores_the_epoch_before(tmp_path):
    """Three epochs checkpointed with double_checkpoint: the state reads (3, 0)
    and its previous (2, 0); restoring the previous one makes Keras continue
    after epoch 2 with the weights it had then."""
    x = np.random.default_rng(0).normal(size=(200, 9)).astype("float32")
    backup = tmp_path / "backup"

    def fit(model, epochs):
        save = keras.callbacks.BackupAndRestore(
            str(backup), double_checkpoint=True, delete_checkpoint=False
        )
        return model.fit(x, batch_size=50, epochs=epochs, verbose=0, callbacks=[save])

    assert checkpoint_state(backup) is None
    two = _model()
    fit(two, 2)
    after_two = [w.numpy() for w in two.weights]
    fit(two, 3)  # continues: one more epoch
    assert checkpoint_state(backup) == (3, 0)
    assert checkpoint_state(backup, previous=True) == (2, 0)
    assert agree_on_checkpoint(None, backup) == (3, 0)  # one worker: nothing changes
    assert checkpoint_state(backup) == (3, 0)

    restore_previous_checkpoint(backup)
    assert checkpoint_state(backup) == (2, 0)
    restored = _model()
    assert fit(restored, 2).epoch == []  # restored after epoch 2: nothing left to train
    for weight, expected in zip(restored.weights, after_two):
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)
    assert fit(_model(), 3).epoch == [2]  # and a longer run continues with epoch 3
