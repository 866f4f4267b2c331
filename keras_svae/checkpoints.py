"""Checkpoints a killed run continues from: Keras' ``BackupAndRestore``,
made safe to kill at any moment and to resume more than once.

Keras 3.15's ``BackupAndRestore`` saves a checkpoint as two files rewritten
in place, the weights and then the metadata (``{"epoch", "batch"}``). Two
gaps matter for a run that is killed and restarted:

- a kill between (or during) the two writes leaves the new weights under
  the old metadata, and the run continues with weights one save ahead of
  the epoch it repeats. Here each file is written whole or not at all
  (a temporary file, then a rename), the metadata records the weights'
  SHA-256, and the previous checkpoint is kept beside the current one:
  weights that are not the ones their metadata describes are a save cut
  short, and `repair_checkpoint` goes back to the previous checkpoint.
- it counts epochs in ``on_epoch_end`` only, so with ``save_freq=N`` the
  checkpoints saved during the first epoch after a resume read as epoch 0,
  and a second restart would begin again from the first epoch (with trained
  weights).

The metadata also records the optimizer's step count, which names a
checkpoint uniquely within a run: workers that trained in step hold the
same steps (`keras_svae.experiment.workers` compares them).
"""

import collections
import hashlib
import os
import shutil
import warnings
from pathlib import Path

import keras

from keras_svae import files

# The files of a checkpoint in its backup folder (Keras' names), and the
# suffix of the previous checkpoint's copies.
CHECKPOINT_FILES = ("latest.weights.h5", "training_metadata.json")
PREVIOUS_SUFFIX = ".bkp"

# What a checkpoint's metadata says: the epoch to continue from, the batch
# of a mid-epoch save, and the optimizer's step count (-1 when a checkpoint
# written by Keras' own callback does not say).
Checkpoint = collections.namedtuple("Checkpoint", ["epoch", "batch", "step"])


def _paths(backup_dir, previous=False):
    suffix = PREVIOUS_SUFFIX if previous else ""
    return [Path(backup_dir) / f"{name}{suffix}" for name in CHECKPOINT_FILES]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checkpoint_state(backup_dir, previous=False):
    """The `Checkpoint` in ``backup_dir`` (the previous one with
    ``previous``), or None when there is no whole one: a file missing or
    unreadable, or weights that are not those their metadata describes (a
    save cut short). A checkpoint of Keras' own callback has no SHA-256 to
    check and is taken as it is, as Keras takes it."""
    weights, metadata_path = _paths(backup_dir, previous)
    metadata = files.read_json(metadata_path)
    if not weights.is_file() or not isinstance(metadata, dict):
        return None
    expected = metadata.get("weights_sha256")
    if expected is not None and expected != _sha256(weights):
        return None
    try:
        return Checkpoint(
            int(metadata["epoch"]), int(metadata.get("batch", 0)), int(metadata.get("step", -1))
        )
    except (KeyError, TypeError, ValueError):
        return None


def _copy_checkpoint(backup_dir, to_previous):
    """Copy the current checkpoint onto the previous one, or back; each file
    whole, the metadata last."""
    current, previous = _paths(backup_dir), _paths(backup_dir, previous=True)
    for source, target in zip(*((current, previous) if to_previous else (previous, current))):
        with files.atomic_path(target) as temporary:
            shutil.copyfile(source, temporary)


def restore_previous_checkpoint(backup_dir):
    """Make the previous checkpoint in ``backup_dir`` the current one."""
    _copy_checkpoint(backup_dir, to_previous=False)


def repair_checkpoint(backup_dir):
    """Leave ``backup_dir`` with a whole checkpoint or none: a save cut
    short is replaced by the previous checkpoint, or, when that is not
    whole either, the folder is removed (the run starts over).

    Returns:
        A line saying what was done, or None when nothing was needed.
    """
    backup_dir = Path(backup_dir)
    if not any(path.exists() for path in _paths(backup_dir)):
        return None
    if checkpoint_state(backup_dir) is not None:
        return None
    state = checkpoint_state(backup_dir, previous=True)
    if state is None:
        files.remove(backup_dir)
        return "its checkpoint was cut short and none before it is whole; starting over"
    restore_previous_checkpoint(backup_dir)
    return (
        f"its last checkpoint was cut short; continuing from the previous one (epoch {state.epoch})"
    )


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose checkpoints survive a kill
    at any moment and a second resume: each file written whole, the weights'
    SHA-256 and the optimizer's step in the metadata, the previous
    checkpoint kept and restored after a save cut short, and mid-epoch
    checkpoints labelled with their epoch after a resume too (the module
    docstring says why each is needed).

    Args:
        backup_dir: the folder of the checkpoint (a local path).
        save_freq: "epoch", or save every this many batches.
        delete_checkpoint: remove the folder once training ends.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__(
            os.fspath(backup_dir), save_freq=save_freq, delete_checkpoint=delete_checkpoint
        )

    def on_train_begin(self, logs=None):
        repaired = repair_checkpoint(self.backup_dir)
        if repaired:
            warnings.warn(f"{self.backup_dir}: {repaired}", stacklevel=2)
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # Keras sets it in on_epoch_end only

    def _save_model(self):
        weights, metadata = _paths(self.backup_dir)
        # The current checkpoint is whole here (on_train_begin repaired it,
        # and each save leaves it whole): it becomes the previous one.
        if weights.is_file() and metadata.is_file():
            _copy_checkpoint(self.backup_dir, to_previous=True)
        with files.atomic_path(weights) as temporary:
            self.model.save_weights(str(temporary))
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        files.write_json(
            metadata,
            {"epoch": self._current_epoch, "batch": self._last_batch_seen, "step": step,
             "weights_sha256": _sha256(weights)},
        )  # fmt: skip
