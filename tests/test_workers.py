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
from keras_svae.experiment.workers import agree_on_checkpoint, agreed_checkpoint

X = np.random.default_rng(0).normal(size=(200, 9)).astype("float32")


@pytest.mark.parametrize(
    "states, agreed",
    [
        ([((3, 0), (2, 0)), ((3, 0), (2, 0))], (3, 0)),  # in step
        ([((3, 0), (2, 0)), ((2, 0), (1, 0))], (2, 0)),  # the first one save ahead
        ([((2, 0), (1, 0)), ((3, 0), (2, 0))], (2, 0)),  # the second one ahead
        ([((1, 4), (1, 2)), ((1, 2), (1, 0))], (1, 2)),  # mid-epoch saves
        ([((0, 4), (3, 0)), ((3, 0), (2, 0))], (3, 0)),  # labels are not ordered
        ([((4, 0), (3, 0)), ((2, 0), (1, 0))], None),  # two saves apart: start over
        ([((1, 0), None), (None, None)], None),  # one never saved
        ([(None, None), (None, None)], None),
    ],
)
def test_the_agreed_checkpoint_is_one_every_worker_holds(states, agreed):
    assert agreed_checkpoint(states) == agreed


def _model():
    model = SparseVAE(latent_dim=3, prior="laplace", decoder="linear", encoder_units=(8,), seed=0)
    model.compile()
    return model


def _fit(model, backup, epochs, save_freq="epoch", callbacks=()):
    save = BackupAndRestore(backup, save_freq=save_freq, delete_checkpoint=False)
    return model.fit(X, batch_size=50, epochs=epochs, verbose=0, callbacks=[save, *callbacks])


def test_going_back_one_checkpoint_restores_the_epoch_before(tmp_path):
    """Three epochs checkpointed: the state reads (3, 0) and its previous
    (2, 0); restoring the previous one makes Keras continue after epoch 2
    with the weights it had then."""
    backup = tmp_path / "backup"
    assert checkpoint_state(backup) is None
    model = _model()
    _fit(model, backup, 2)
    after_two = [w.numpy() for w in model.weights]
    _fit(model, backup, 3)  # continues: one more epoch
    assert checkpoint_state(backup) == (3, 0)
    assert checkpoint_state(backup, previous=True) == (2, 0)
    assert agree_on_checkpoint(None, backup) == (3, 0)  # one worker: nothing changes
    assert checkpoint_state(backup) == (3, 0)

    restore_previous_checkpoint(backup)
    assert checkpoint_state(backup) == (2, 0)
    restored = _model()
    assert _fit(restored, backup, 2).epoch == []  # restored after epoch 2: nothing to train
    for weight, expected in zip(restored.weights, after_two):
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)
    assert _fit(_model(), backup, 3).epoch == [2]  # and a longer run continues with epoch 3


def test_a_save_killed_between_weights_and_metadata_goes_back_one(tmp_path):
    """New weights under the old metadata (a kill between Keras' two writes)
    are not a checkpoint: the previous one is restored, whole."""
    backup = tmp_path / "backup"
    model = _model()
    _fit(model, backup, 3)
    after_three = [w.numpy() for w in model.weights]
    # What Keras' next save does up to the kill: the checkpoint copied
    # aside, new weights written; the metadata still says epoch 3.
    for name in CHECKPOINT_FILES:
        shutil.copy(backup / name, backup / f"{name}{PREVIOUS_SUFFIX}")
    model.fit(X, batch_size=50, epochs=1, verbose=0)
    model.save_weights(str(backup / "latest.weights.h5"))
    assert checkpoint_state(backup) is None  # weights newer than their metadata
    assert "continuing from the one before (epoch 3)" in repair_checkpoint(backup)
    assert checkpoint_state(backup) == (3, 0)
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
    assert checkpoint_state(backup) == (2, 2)  # epoch 2 (0-based), after its third batch
