"""What the workers of a multi-worker run agree on before a variant trains.

Synchronous training needs every worker to take the same steps. Each worker
keeps its own files (no shared filesystem is assumed), and after a crash
they can disagree on two things:

- whether the variant still trains: the chief may have written the finished
  run while another worker died before its own end, or the other way round.
  The chief's files decide for everyone (`chief_decides`).
- which checkpoint training continues from: the workers save their
  ``BackupAndRestore`` checkpoints one after the other, so a worker killed
  between two saves leaves the cluster with checkpoints one save apart, and
  restarted as they are, the workers would train different epochs until the
  one with more left waits for a peer that has exited. Each worker keeps its
  previous checkpoint too (``double_checkpoint=True``), and a worker that is
  ahead goes back to it (`agree_on_checkpoint`).

Each agreement is one small ``strategy.gather``; under one worker (or no
strategy) nothing is exchanged and nothing changes.
"""

import shutil
from pathlib import Path

import tensorflow as tf

from keras_svae import files
from keras_svae.distribute import is_chief
from keras_svae.experiment.records import finished_metrics

# The files of a keras.callbacks.BackupAndRestore checkpoint in its backup
# folder, and the suffix of the previous checkpoint's copies that it keeps
# with double_checkpoint=True.
CHECKPOINT_FILES = ("latest.weights.h5", "training_metadata.json")
PREVIOUS_SUFFIX = ".bkp"
# What a missing checkpoint reads as: no epoch trained, start from scratch.
FRESH = (0, 0)


def _several_workers(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.cluster_spec().as_dict())


def gather_from_workers(strategy, values):
    """Every replica's ``values`` (a list of numbers, the same length on
    each), as a ``[replicas, len(values)]`` numpy array on every worker."""
    mine = tf.constant([values], tf.float32)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: mine)
    return strategy.gather(per_replica, axis=0).numpy()


def chief_decides(strategy, flag):
    """The chief's ``flag`` on every worker of ``strategy`` (``flag`` itself
    under no strategy or one worker)."""
    if strategy is None or not _several_workers(strategy):
        return bool(flag)
    gathered = gather_from_workers(strategy, [float(bool(flag)), float(is_chief(strategy))])
    return bool(gathered[gathered[:, 1] == 1][0, 0])


def worker_folder(strategy, out):
    """The folder this worker writes its runs to: ``out`` on the chief,
    ``out/.worker-<index>`` on another worker, which keeps its checkpoints
    apart (on one machine, or a shared filesystem)."""
    if is_chief(strategy):
        return out
    return str(Path(out) / f".worker-{strategy.cluster_resolver.task_id}")


def trains_here(strategy, config, chief_out, out):
    """Whether this worker runs ``config``: the chief always (`run_variant`
    keeps a finished run), any other worker exactly when the chief trains
    it, the chief's run folder being ``chief_out/<name>``. A worker that
    trains along drops its own copy of an older finished run in
    ``out/<name>``, which would keep it from training."""
    trains = chief_decides(strategy, finished_metrics(config, chief_out) is None)
    if is_chief(strategy):
        return True
    if trains:
        files.remove(Path(out) / config.name)
    return trains


def checkpoint_state(backup_dir, previous=False):
    """``(epoch, batch)`` of the ``BackupAndRestore`` checkpoint in
    ``backup_dir`` (of the previous one with ``previous``), or None when
    there is none."""
    suffix = PREVIOUS_SUFFIX if previous else ""
    backup_dir = Path(backup_dir)
    paths = [backup_dir / f"{name}{suffix}" for name in CHECKPOINT_FILES]
    metadata = files.read_json(paths[1])
    if not paths[0].is_file() or not isinstance(metadata, dict):
        return None
    try:
        return int(metadata["epoch"]), int(metadata.get("batch", 0))
    except (KeyError, TypeError, ValueError):
        return None


def agreed_checkpoint(states):
    """The checkpoint every worker can continue from, given each worker's
    ``(current, previous)`` states (None where missing): the earliest
    current one when every worker holds it as its current or previous
    checkpoint, else a fresh start."""
    currents = [current or FRESH for current, _ in states]
    target = min(currents)
    if all(target in (current or FRESH, previous) for current, previous in states):
        return target
    return FRESH


def agree_on_checkpoint(strategy, backup_dir, say=print):
    """Make this worker's checkpoint the one all workers continue from.

    Call it on every worker before ``fit`` (it is one collective): a worker
    one save ahead of a peer goes back to its previous checkpoint; when the
    workers' checkpoints are further apart, the worker removes its own and
    all start over.

    Args:
        strategy: the ``tf.distribute`` strategy, or None (then nothing
            is exchanged or changed).
        backup_dir: this worker's ``keras.callbacks.BackupAndRestore``
            folder, saved with ``double_checkpoint=True``.
        say: where the line saying what changed goes.

    Returns:
        The agreed ``(epoch, batch)`` of the checkpoint, ``(0, 0)`` for a
        fresh start.
    """
    backup_dir = Path(backup_dir)
    current = checkpoint_state(backup_dir)
    if strategy is None or not _several_workers(strategy):
        return current or FRESH
    previous = checkpoint_state(backup_dir, previous=True)
    row = [*(current or (-1, -1)), *(previous or (-1, -1))]
    gathered = gather_from_workers(strategy, row).astype(int)
    states = [
        tuple(tuple(int(v) for v in pair) if pair[0] >= 0 else None for pair in (r[:2], r[2:]))
        for r in gathered
    ]
    target = agreed_checkpoint(states)
    if (current or FRESH) == target:
        return target
    if target == FRESH:
        say(f"the workers' checkpoints are more than one save apart; starting over ({backup_dir})")
        files.remove(backup_dir)
        return target
    say(f"going back one checkpoint to epoch {target[0]}, where the other workers are")
    restore_previous_checkpoint(backup_dir)
    return target


def restore_previous_checkpoint(backup_dir):
    """Make the previous checkpoint in ``backup_dir`` (which
    ``BackupAndRestore(double_checkpoint=True)`` keeps) the current one."""
    backup_dir = Path(backup_dir)
    for name in CHECKPOINT_FILES:  # the metadata last, as BackupAndRestore writes it
        with files.atomic_path(backup_dir / name) as temporary:
            shutil.copyfile(backup_dir / f"{name}{PREVIOUS_SUFFIX}", temporary)
