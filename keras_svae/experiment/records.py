"""What a run's folder records: whether it holds a finished run of these
settings, measured by this version of the measures, and the state a killed
run resumes from (its checkpointed epoch and its history so far)."""

import csv
import dataclasses
import json
from pathlib import Path

from keras_svae.checkpoints import checkpoint_state
from keras_svae.experiment.config import FALLBACK_DEFAULTS, ExperimentConfig

# The version of the numbers a finished run holds (evaluate_variant's and the
# grids' extra numbers). It is raised when what one of them means changes; a
# finished run measured by an older version is then measured again from its
# saved model (`remeasure_variant`), not retrained and not kept stale.
# 3: image patches are scored on the same test crops for every seed.
MEASURES_VERSION = 3


def measured_now(numbers):
    """Whether a run's numbers were measured by this version's measures.

    Args:
        numbers: a run's metrics or extra numbers, as read from its JSON.

    Returns:
        True when they carry the current ``MEASURES_VERSION``.
    """
    return isinstance(numbers, dict) and numbers.get("measures_version") == MEASURES_VERSION


def finished_metrics(config, out_dir):
    """The metrics of a finished run of exactly this config, or None (whether
    they are current is `measured_now`'s question)."""
    path = Path(out_dir) / config.name / "metrics.json"
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text())
    except ValueError:
        return None
    return metrics if same_config(metrics.get("config"), config) else None


def check_not_replacing(config, out_dir):
    """Raise a ValueError when ``out_dir/<name>/`` holds a finished run of
    other settings (or a folder that is no finished run): a rerun with, say,
    other epochs would otherwise replace it without a word."""
    folder = Path(out_dir) / config.name
    if not folder.exists():
        return
    try:
        saved = json.loads((folder / "metrics.json").read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        saved = None
    if isinstance(saved, dict):
        changes = config_changes(saved, config)
        what = "a finished run with other settings: " + ", ".join(
            f"{key} {there!r} there, {now!r} now" for key, there, now in changes
        )
    else:
        what = "a folder that is not a finished run (no readable metrics.json with its settings)"
    raise ValueError(
        f"{folder} holds {what}. Pass overwrite=True to replace it once the new run is "
        "complete, or another output folder, out_dir=<folder>, to keep both."
    )


def same_config(saved, config):
    """Whether ``saved`` (a config dict read from a run's JSON) is ``config``;
    fields added to ExperimentConfig since it was written count as their
    defaults, so a new option does not retrain finished runs."""
    return isinstance(saved, dict) and not config_changes(saved, config)


# What a data set's runs used before a field for it existed: BSDS runs cropped
# the photograph loader's 100 patches per photograph.
FIELDS_BEFORE = {"bsds": {"patches_per_image": 100}}


def config_changes(saved, config):
    """``(field, saved value, config's value)`` for each field where ``saved``
    (a config dict read from a run's JSON; fields it lacks count as their
    defaults) differs from ``config``."""
    # Fields now None by default ("the data set's") held these values before.
    defaults = {f.name: f.default for f in dataclasses.fields(ExperimentConfig)}
    defaults |= FALLBACK_DEFAULTS | FIELDS_BEFORE.get(saved.get("data"), {})
    saved = json.loads(json.dumps({**defaults, **saved}))
    expected = json.loads(json.dumps(dataclasses.asdict(config)))
    return [(key, saved.get(key), value) for key, value in expected.items()
            if saved.get(key) != value]  # fmt: skip


def resume_epoch(backup_dir):
    """The epoch a run checkpointed in ``backup_dir`` (by
    `keras_svae.checkpoints.BackupAndRestore`) continues from: 0 for a
    fresh run."""
    state = checkpoint_state(backup_dir)
    return state.epoch if state is not None else 0


def read_history(path):
    """The per-epoch history a ``keras.callbacks.CSVLogger`` wrote, across
    resumed runs: one value per epoch (an epoch written twice, by a run killed
    before its checkpoint, keeps the rerun's row); validation columns only at
    the epochs that validated."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row.pop("epoch"))] = row
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if value not in ("", "NA"):
                history.setdefault(key, []).append(float(value))
    return history
