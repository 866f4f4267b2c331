"""What the workers of a multi-worker run agree on before a variant trains.

Synchronous training needs every worker to take the same steps. Each worker
keeps its own files (no shared filesystem is assumed), and after a crash
they can disagree on two things:

- whether the variant still trains: the chief may have written the finished
  run while another worker died before its own end, or the other way round.
  The chief's files decide for everyone (`trains_here`).
- which checkpoint training continues from: the workers save their
  checkpoints one after the other, so a worker killed between two saves
  leaves the cluster with checkpoints one save apart, and restarted as they
  are, the workers would train different epochs until the one with more
  left waits for a peer that has exited. Each worker keeps its previous
  checkpoint too (`keras_svae.checkpoints.BackupAndRestore`), and a worker
  that is ahead goes back to it (`agree_on_checkpoint`).

Each agreement is one small ``strategy.gather``; under one worker (or no
strategy) nothing is exchanged.
"""

from pathlib import Path

import tensorflow as tf

from keras_svae import files
from keras_svae.checkpoints import checkpoint_state, repair_checkpoint, restore_previous_checkpoint
from keras_svae.distribute import is_chief
from keras_svae.experiment.records import finished_metrics


def several_workers(strategy):
    """True for a strategy over a cluster of more than one task (False for
    None): only then can the workers' files disagree."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return False
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs) > 1


def gather_from_workers(strategy, values):
    """Every replica's ``values`` (a list of integers, the same length on
    each), as a ``[replicas, len(values)]`` numpy array on every worker."""
    mine = tf.constant([values], tf.int64)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: mine)
    return strategy.gather(per_replica, axis=0).numpy()


def chief_decides(strategy, flag):
    """The chief's ``flag`` on every worker of ``strategy`` (``flag`` itself
    under no strategy or one worker)."""
    if not several_workers(strategy):
        return bool(flag)
    gathered = gather_from_workers(strategy, [int(bool(flag)), int(is_chief(strategy))])
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
    chief = is_chief(strategy)
    trains = chief_decides(strategy, chief and finished_metrics(config, chief_out) is None)
    if chief:
        return True
    if trains:
        files.remove(Path(out) / config.name)
    return trains


def agreed_step(steps):
    """The checkpoint every worker can continue from, given each worker's
    ``(current, previous)`` checkpoint steps (the optimizer's step count
    when each was saved, which names a checkpoint within a run; -1 where
    missing or unknown): the latest step every worker holds as its current
    or previous checkpoint, or None (start over) when there is none."""
    held = set.intersection(*({int(s) for s in pair if s >= 0} for pair in steps))
    return max(held) if held else None


def agree_on_checkpoint(strategy, backup_dir, say=print):
    """Make this worker's checkpoint the one all workers continue from.

    Call it on every worker before ``fit`` (it is one collective). A save
    cut short is repaired first (`keras_svae.checkpoints.repair_checkpoint`);
    then a worker one save ahead of a peer goes back to its previous
    checkpoint, and when the workers share no checkpoint each removes its
    own and all start over.

    Args:
        strategy: the ``tf.distribute`` strategy, or None (then only the
            repair is done).
        backup_dir: this worker's checkpoint folder, saved by
            `keras_svae.checkpoints.BackupAndRestore`.
        say: where a line saying what changed goes.

    Returns:
        The `keras_svae.checkpoints.Checkpoint` all continue from, or None
        for a fresh start.
    """
    backup_dir = Path(backup_dir)
    repaired = repair_checkpoint(backup_dir)
    if repaired:
        say(repaired)
    current = checkpoint_state(backup_dir)
    if not several_workers(strategy):
        return current
    previous = checkpoint_state(backup_dir, previous=True)
    mine = [c.step if c is not None else -1 for c in (current, previous)]
    target = agreed_step(gather_from_workers(strategy, mine))
    if target is not None and target == mine[0]:
        return current
    if target is None:
        if current is not None:
            say("the workers share no checkpoint; all start over")
            files.remove(backup_dir)
        return None
    say(f"going back one checkpoint to epoch {previous.epoch}, where the other workers are")
    restore_previous_checkpoint(backup_dir)
    return previous
