"""Reproduce the paper: the grid of runs (``grid``), the numbers its claims
need (``measures``), the claims with verdicts (``claims``; each test a one-sided
paired t-test over seeds, ``verdict``), the report (``report``) and its
ablation of the author's quirks (``ablation``); ``choices`` reads a grid's
presets, seeds and experiments. ``python -m training.reproduce`` is a thin layer over these."""

from keras_svae.reproduce.choices import (
    parse_presets,
    parse_seeds,
    preset_seeds,
    select_experiments,
)
from keras_svae.reproduce.claims import VERDICTS, Claim, Comparison, evaluate_claims
from keras_svae.reproduce.grid import (
    PRESETS,
    QUICK,
    Run,
    experiment_config,
    grid_runs,
    load_experiments,
    load_result,
    run_grid,
    run_state,
)
from keras_svae.reproduce.report import publish_report, write_report
from keras_svae.reproduce.verdict import LEVEL, RULE, paired_verdict

__all__ = [
    "LEVEL",
    "PRESETS",
    "QUICK",
    "RULE",
    "VERDICTS",
    "Claim",
    "Run",
    "Comparison",
    "evaluate_claims",
    "experiment_config",
    "grid_runs",
    "load_experiments",
    "load_result",
    "paired_verdict",
    "parse_presets",
    "parse_seeds",
    "preset_seeds",
    "run_grid",
    "run_state",
    "select_experiments",
    "publish_report",
    "write_report",
]
