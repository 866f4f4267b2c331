"""Checkpoints a killed run continues from (`keras_svae.checkpoints`) and the
one the workers of a multi-worker run agree on, on real Keras checkpoint
files. The agreement between processes is tested end to end in
tests/test_distribute.py (a killed worker)."""

import shutil

import keras
import numpy as np
import pytest

from keras_svae import SparseVAE
from keras_svae.checkpoints import (
    CHECKPOINT_FILES,
    PREVIOUS_SUFFIX,
    BackupAndRestore,
    checkpoint_state,
    repair_checkpoint,
    restore_previous_checkpoint,
)
from keras_svae.experiment.workers import agree_on_checkpoint, agreed_step

X = np.random.default_rng(0).normal(size=(200, 9)).astype("float32")


@pytest.mark.parametrize(
    "steps, agreed",
    [
        ([(30, 20), (30, 20)], 30),  # in step
        ([(30, 20), (20, 10)], 20),  # the first one save ahead
        ([(20, 10), (30, 20)], 20),  # the second one ahead
        ([(31, 30), (30, 20), (30, 20)], 30),  # one of three ahead
        ([(40, 30), (20, 10)], None),  # two saves apart: start over
        ([(10, -1), (-1, -1)], None),  # one never saved
        ([(-1, -1), (-1, -1)], None),
    ],
)
def test_the_agreed_checkpoint_is_the_latest_every_worker_holds(steps, agreed):
    assert agreed_step(steps) == agreed


def _model():
    model = SparseVAE(latent_dim=3, prior="laplace", decoder="linear", encoder_units=(8,), seed=0)
    model.compile()
    return model


def _fit(model, backup, epochs, save_freq="epoch", callbacks=()):
    save = BackupAndRestore(backup, save_freq=save_freq, delete_checkpoint=False)
    return model.fit(X, batch_size=50, epochs=epochs, verbose=0, callbacks=[save, *callbacks])


def test_going_back_one_checkpoint_restores_the_epoch_before(tmp_path):
    """Three epochs of 4 steps checkpointed: the state reads epoch 3, step
    12, and its previous epoch 2, step 8; restoring the previous one makes
    Keras continue after epoch 2 with the weights it had then."""
    backup = tmp_path / "backup"
    assert checkpoint_state(backup) is None
    model = _model()
    _fit(model, backup, 2)
    after_two = [w.numpy() for w in model.weights]
    _fit(model, backup, 3)  # continues: one more epoch
    assert checkpoint_state(backup) == (3, 0, 12)
    assert checkpoint_state(backup, previous=True) == (2, 0, 8)
    assert agree_on_checkpoint(None, backup) == (3, 0, 12)  # one worker: nothing changes
    assert checkpoint_state(backup) == (3, 0, 12)

    restore_previous_checkpoint(backup)
    assert checkpoint_state(backup) == (2, 0, 8)
    restored = _model()
    assert _fit(restored, backup, 2).epoch == []  # restored after epoch 2: nothing to train
    for weight, expected in zip(restored.weights, after_two):
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)
    assert _fit(_model(), backup, 3).epoch == [2]  # and a longer run continues with epoch 3


def test_a_save_killed_between_weights_and_metadata_goes_back_one(tmp_path):
    """New weights under the old metadata (a kill between the two writes of
    a save) are not a checkpoint: the previous one is restored, whole."""
    backup = tmp_path / "backup"
    model = _model()
    _fit(model, backup, 3)
    after_three = [w.numpy() for w in model.weights]
    # What the next save does up to the kill: the checkpoint copied aside,
    # new weights written; the metadata still describes epoch 3's.
    for name in CHECKPOINT_FILES:
        shutil.copy(backup / name, backup / f"{name}{PREVIOUS_SUFFIX}")
    model.fit(X, batch_size=50, epochs=1, verbose=0)
    model.save_weights(str(backup / "latest.weights.h5"))
    assert checkpoint_state(backup) is None  # not the weights their metadata describes
    assert "continuing from the previous one (epoch 3)" in repair_checkpoint(backup)
    assert checkpoint_state(backup) == (3, 0, 12)
    assert repair_checkpoint(backup) is None  # whole now
    restored = _model()
    assert _fit(restored, backup, 3).epoch == []
    for weight, expected in zip(restored.weights, after_three):
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)

    model.save_weights(str(backup / "latest.weights.h5"))  # again, with no whole previous one
    (backup / f"training_metadata.json{PREVIOUS_SUFFIX}").unlink()
    assert "starting over" in repair_checkpoint(backup)
    assert not backup.exists()


def test_a_mid_epoch_checkpoint_after_a_resume_keeps_its_epoch(tmp_path):
    """Keras labels the checkpoints saved during the first epoch after a
    resume as epoch 0; ours say the epoch they are in."""
    backup = tmp_path / "backup"
    model = _model()
    _fit(model, backup, 2)

    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        _fit(_model(), backup, 4, save_freq=1, callbacks=[Kill()])
    assert checkpoint_state(backup) == (2, 2, 11)  # epoch 2 (0-based), after its third batch


def test_a_checkpoint_of_keras_own_callback_is_taken_as_it_is(tmp_path):
    """No SHA-256 or step to check: read as Keras reads it, step unknown."""
    backup = tmp_path / "backup"
    save = keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False)
    _model().fit(X, batch_size=50, epochs=2, verbose=0, callbacks=[save])
    assert checkpoint_state(backup) == (2, 0, -1)
    assert repair_checkpoint(backup) is None
