"""Experiments: one training run end to end (``run_variant``) and the table
that compares runs (``comparison_table``). The command line
(``keras_svae.cli``) is a thin layer over these."""

from keras_svae.experiment.config import DATASET_DEFAULTS, DATASETS, ExperimentConfig
from keras_svae.experiment.datasets import ExperimentData, load_experiment_data
from keras_svae.experiment.presets import PRESETS, Preset, preset
from keras_svae.experiment.records import MEASURES_VERSION, measured_now
from keras_svae.experiment.run import (
    build_model,
    evaluate_variant,
    remeasure_variant,
    run_variant,
    write_figures,
)
from keras_svae.experiment.table import comparison_table
from keras_svae.experiment.workers import agree_on_checkpoint

__all__ = [
    "DATASETS",
    "DATASET_DEFAULTS",
    "ExperimentConfig",
    "ExperimentData",
    "MEASURES_VERSION",
    "PRESETS",
    "Preset",
    "agree_on_checkpoint",
    "build_model",
    "comparison_table",
    "evaluate_variant",
    "load_experiment_data",
    "measured_now",
    "preset",
    "remeasure_variant",
    "run_variant",
    "write_figures",
]
