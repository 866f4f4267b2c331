"""Checkpoints a killed run continues from: Keras' ``BackupAndRestore``,
made safe to kill at any moment and to resume more than once.

Keras 3.15's ``BackupAndRestore`` saves a checkpoint as two files written in
place, the weights and then the metadata (``{"epoch", "batch"}``), after
copying both to ``*.bkp`` when ``double_checkpoint`` is on. Two gaps matter
for a run that is killed and restarted:

- a kill between the two writes leaves the new weights under the old
  metadata, so the run would continue with weights one save ahead of the
  epoch it repeats (and a kill inside the first save leaves weights with no
  metadata at all). The files' modification times tell: the metadata is
  always written after its weights. `repair_checkpoint` goes back to the
  previous checkpoint, whose two copies were complete before the save began.
- it counts epochs in ``on_epoch_end`` only, so with ``save_freq=N`` the
  checkpoints saved during the first epoch after a resume read as epoch 0,
  and a second restart would begin again from the first epoch (with trained
  weights).
"""

import os
import shutil
from pathlib import Path

import keras

from keras_svae import files

# The files of a checkpoint in its backup folder (Keras' names), and the
# suffix of the previous checkpoint's copies that double_checkpoint keeps.
CHECKPOINT_FILES = ("latest.weights.h5", "training_metadata.json")
PREVIOUS_SUFFIX = ".bkp"


def _paths(backup_dir, previous):
    suffix = PREVIOUS_SUFFIX if previous else ""
    return [Path(backup_dir) / f"{name}{suffix}" for name in CHECKPOINT_FILES]


def checkpoint_state(backup_dir, previous=False):
    """``(epoch, batch)`` of the checkpoint in ``backup_dir`` (of the
    previous one with ``previous``), or None when there is no complete one:
    a file missing or unreadable, or weights written after their metadata
    (a save killed half-way)."""
    weights, metadata_path = _paths(backup_dir, previous)
    metadata = files.read_json(metadata_path)
    if not weights.is_file() or not isinstance(metadata, dict):
        return None
    if weights.stat().st_mtime_ns > metadata_path.stat().st_mtime_ns:
        return None
    try:
        return int(metadata["epoch"]), int(metadata.get("batch", 0))
    except (KeyError, TypeError, ValueError):
        return None


def restore_previous_checkpoint(backup_dir):
    """Make the previous checkpoint in ``backup_dir`` the current one."""
    for current, previous in zip(_paths(backup_dir, False), _paths(backup_dir, True)):
        with files.atomic_path(current) as temporary:  # the metadata last, as Keras writes it
            shutil.copyfile(previous, temporary)


def repair_checkpoint(backup_dir):
    """Leave ``backup_dir`` with a complete checkpoint or none: a save killed
    half-way is replaced by the previous checkpoint, or, when there is no
    complete previous one, the folder is removed (the run starts over).

    Returns:
        A line saying what was done, or None when nothing was needed.
    """
    backup_dir = Path(backup_dir)
    if not any(path.exists() for path in _paths(backup_dir, False)):
        return None
    if checkpoint_state(backup_dir) is not None:
        return None
    state = checkpoint_state(backup_dir, previous=True)
    if state is None:
        files.remove(backup_dir)
        return "its checkpoint was written half-way and none before it is whole; starting over"
    restore_previous_checkpoint(backup_dir)
    return (
        "its last checkpoint was written half-way; continuing from the one before "
        f"(epoch {state[0]})"
    )


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` that keeps the previous
    checkpoint, goes back to it when the last save was killed half-way, and
    labels mid-epoch checkpoints with their epoch after a resume too (the
    module docstring says why each is needed).

    Args:
        backup_dir: the folder of the checkpoint.
        save_freq: "epoch", or save every this many batches.
        delete_checkpoint: remove the folder once training ends.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__(
            os.fspath(backup_dir),
            save_freq=save_freq,
            double_checkpoint=True,
            delete_checkpoint=delete_checkpoint,
        )

    def on_train_begin(self, logs=None):
        repair_checkpoint(self.backup_dir)
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # Keras sets it in on_epoch_end only
