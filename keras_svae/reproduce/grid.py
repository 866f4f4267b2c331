"""The runs of the paper grid and their resumable execution.

An experiment file (``training/configs/<name>.toml``) holds one table per
preset table (``paper``, ``library``) of `ExperimentConfig` fields, optional
per-prior overrides (``[paper.priors.cauchy]``) and the reduced settings of a
quick grid (``[paper.quick]``). A preset (``keras_svae.experiment.presets``)
names the table it reads (``author`` reads ``paper``) and adds its own fields
per prior and its variants. The grid is every preset x experiment x prior x
seed, plus each preset's variants (``author``: the saved Laplace notebook's
Normal KL, the Cauchy notebook's alpha 2), plus claim 8's run of the
experiment that names ``kl_pair_prior``: the same model trained with the
other KL path (closed form vs sampled). A file's ``paper_epochs`` is the
paper's training length: a paper-length grid (``grid_runs(paper_length=True)``)
trains the presets that read the ``paper`` table that long.

Each run is ``experiment.run_variant`` in ``<out>/<preset>/seed<k>/``, so a
finished run is kept and an interrupted one resumes from its last epoch; the
extra numbers the claims need (``measures.extra_metrics``) are cached beside
it in ``reproduce.json``. A run that fails (a NaN loss) is recorded in
``<name>.failed.json`` and not retried with the same config, so one diverging
setting cannot stall a grid that runs over several sittings.
"""

import dataclasses
import json
import time
from pathlib import Path

import tomllib

from keras_svae import files
from keras_svae.experiment import ExperimentConfig, run_variant
from keras_svae.experiment.presets import PRESETS as PRESET_OBJECTS
from keras_svae.experiment.presets import preset as find_preset
from keras_svae.experiment.records import MEASURES_VERSION, finished_metrics, measured_now
from keras_svae.names import PAPER_PRIORS
from keras_svae.reproduce.choices import preset_seeds

# The presets a grid runs unless told (``author`` is asked for by name).
PRESETS = ("paper", "library")
# What --quick changes in every run, beside each file's [<preset>.quick] table:
# a small importance-sampled evaluation on the first few hundred test examples,
# and no XLA (its compile time outweighs the gain on runs of a few hundred steps).
QUICK = {"iwae_k": 50, "n_eval": 200, "max_test": 400, "jit_compile": False}
EXTRA_FILE = "reproduce.json"


@dataclasses.dataclass
class Run:
    """One cell of the grid: where it lives and the config that defines it.

    Attributes:
        preset: "paper", "library" or "author".
        experiment: the experiment file's name.
        title: the experiment's title in the report.
        seed: the run's seed.
        config: the run's `ExperimentConfig`.
        folder: the folder that holds the run's folder (``<out>/<preset>/seed<seed>``).
        role: "main", "kl-pair" (claim 8's run on the other KL path) or a
            preset variant's name (e.g. "alpha2").

    A run of the ``author`` preset that adds no quirk to the ``paper`` preset's
    run (its Laplace run) has that run's config and folder: trained once.
    """

    preset: str
    experiment: str
    title: str
    seed: int
    config: ExperimentConfig
    folder: Path
    role: str = "main"  # or "kl-pair": claim 8's other KL path

    @property
    def path(self):
        return self.folder / self.config.name

    @property
    def label(self):
        return f"{self.preset}/seed{self.seed}/{self.config.name}"


def load_experiments(config_dir):
    """The experiment files of a folder.

    Args:
        config_dir: a folder of ``*.toml`` experiment files (one per experiment).

    Returns:
        ``{file stem: parsed TOML}``, sorted by name.
    """
    paths = sorted(Path(config_dir).glob("*.toml"))
    if not paths:
        raise FileNotFoundError(f"No experiment files (*.toml) in {config_dir}.")
    experiments = {}
    for path in paths:
        with open(path, "rb") as f:
            spec = tomllib.load(f)
        missing = sorted({p.table for p in PRESET_OBJECTS.values()} - set(spec))
        if missing:
            raise ValueError(f"{path} has no [{missing[0]}] table; every experiment needs both.")
        epochs = spec.get("paper_epochs")
        if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
            raise ValueError(
                f"{path}: paper_epochs is the paper's number of epochs, a positive integer; "
                f"got {epochs!r}."
            )
        experiments[path.stem] = spec
    return experiments


def _fields(table):
    """The ExperimentConfig fields of a preset table (without sub-tables)."""
    return {
        k: (tuple(v) if isinstance(v, list) else v)
        for k, v in table.items()
        if not isinstance(v, dict)
    }


def experiment_config(spec, preset, prior, seed, quick=False, data_dir=None, **changes):
    """The `ExperimentConfig` of one run from an experiment file's ``spec``.

    Args:
        spec: one parsed experiment file (`load_experiments`).
        preset: a preset's name ("paper", "library", "author"): the file's
            table it reads, then its own fields for ``prior``.
        prior: the run's prior; its ``[<table>.priors.<prior>]`` table applies.
        seed: the run's seed.
        quick: apply ``QUICK`` and the file's ``[<table>.quick]`` table.
        data_dir: the data folder; the file's ``data_subdir`` is joined to it.
        **changes: config fields set last, over everything else.

    Returns:
        An `ExperimentConfig`.
    """
    chosen = find_preset(preset)
    table = spec[chosen.table]
    fields = _fields(table)
    fields.update(_fields(table.get("priors", {}).get(prior, {})))
    if quick:
        fields.update(QUICK)
        fields.update(_fields(table.get("quick", {})))
    fields.update(recipe=chosen.name, **chosen.prior_fields.get(prior, {}))
    if data_dir is not None and spec.get("data_subdir"):
        fields["data_dir"] = str(Path(data_dir) / spec["data_subdir"])
    fields.update(prior=prior, seed=seed, **changes)
    return ExperimentConfig(**fields)


def grid_runs(
    experiments,
    out,
    presets=PRESETS,
    seeds=(0, 1, 2),
    quick=False,
    data_dir=None,
    overrides=None,
    paper_length=False,
):
    """Every run of the grid, in the order they train: by preset, seed, experiment,
    prior, then the preset's variants (plus the KL-path pair of an experiment
    that names a ``kl_pair_prior``).

    Args:
        experiments: ``{name: spec}`` from `load_experiments`.
        out: the grid's output folder (runs go in ``<preset>/seed<seed>/``).
        presets: the presets to run.
        seeds: the seeds to run, or ``{preset: seeds}`` (`preset_seeds`).
        quick: the reduced grid (see `experiment_config`).
        data_dir: the data folder (see `experiment_config`).
        overrides: config fields applied to every run, after ``quick``.
        paper_length: train the presets that read the ``paper`` table
            (``paper``, ``author``) for each file's ``paper_epochs``; the
            ``library`` preset keeps its own epochs.

    Returns:
        A list of `Run`.

    Raises:
        ValueError: for ``paper_length`` with ``quick``, or a file without
            ``paper_epochs``.
    """
    if paper_length and quick:
        raise ValueError("A paper-length grid cannot be quick: choose one of the two.")
    runs = []
    for preset in presets:
        for seed in preset_seeds(seeds, preset):
            folder = Path(out) / preset / f"seed{seed}"
            for name, spec in experiments.items():
                title = spec.get("title", name)
                changed = _length(spec, name, preset, paper_length) | dict(overrides or {})
                for prior in PAPER_PRIORS:
                    config = experiment_config(
                        spec, preset, prior, seed, quick, data_dir, **changed
                    )
                    config, where = _as_paper(
                        config, spec, Path(out), seed, quick, data_dir, changed
                    )
                    runs.append(Run(preset, name, title, seed, config, where or folder))
                for prior, role, changes in find_preset(preset).variants:
                    changes = {**changes, **changed}
                    config = experiment_config(
                        spec, preset, prior, seed, quick, data_dir, **changes
                    )
                    runs.append(Run(preset, name, title, seed, config, folder, role=role))
                pair = spec.get("kl_pair_prior")
                if pair:
                    main = experiment_config(spec, preset, pair, seed, quick, data_dir, **changed)
                    other = "analytic" if main.kl == "sampled" else "sampled"
                    changes = dict(changed, kl=other, tag=f"kl-{other}")
                    config = experiment_config(spec, preset, pair, seed, quick, data_dir, **changes)
                    config, where = _as_paper(
                        config, spec, Path(out), seed, quick, data_dir, changes
                    )
                    runs.append(
                        Run(preset, name, title, seed, config, where or folder, role="kl-pair")
                    )
    return runs


def _as_paper(config, spec, out, seed, quick, data_dir, changed):
    """A run that adds no quirk to the paper preset's run (the author preset's
    Laplace run) is that run: its config and folder, so the grid trains it once.

    Returns:
        ``(config, folder)``: the paper run's, or ``(config, None)`` when the
        run differs from it.
    """
    if config.recipe == "paper" or find_preset(config.recipe).table != "paper":
        return config, None
    paper = experiment_config(spec, "paper", config.prior, seed, quick, data_dir, **changed)
    if dataclasses.replace(config, recipe="paper") != paper:
        return config, None
    return paper, out / "paper" / f"seed{seed}"


def _length(spec, name, preset, paper_length):
    """The epochs of a paper-length run of ``preset`` ({} when not one)."""
    if not paper_length or find_preset(preset).table != "paper":
        return {}
    if spec.get("paper_epochs") is None:
        raise ValueError(
            f"Experiment {name!r} has no paper_epochs (the paper's training length); add "
            "e.g. paper_epochs = 100 at the top of its file, or run without --paper-length."
        )
    return {"epochs": spec["paper_epochs"]}


def _saved_config(config):
    return json.loads(json.dumps(dataclasses.asdict(config)))


def recorded_failure(path, field, value):
    """True when ``path`` (a ``<name>.failed.json``) records a failure of
    exactly these settings (``field`` holds ``value``): not retried."""
    if not Path(path).is_file():
        return False
    try:
        return json.loads(Path(path).read_text()).get(field) == value
    except ValueError:
        return False


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def run_state(run):
    """Where a run stands. A run trained earlier whose numbers an older version
    measured is "todo": run_variant measures its saved model again (no
    retraining) and its extra numbers are recomputed.

    Args:
        run: a `Run` of the grid.

    Returns:
        "finished", "failed" (a recorded failure of the same config) or "todo".
    """
    # The same test as run_variant's (fields added since count as defaults).
    metrics = finished_metrics(run.config, run.folder)
    if measured_now(metrics) and measured_now(_read_json(run.path / EXTRA_FILE)):
        return "finished"
    failed = run.folder / f"{run.config.name}.failed.json"
    return "failed" if recorded_failure(failed, "config", _saved_config(run.config)) else "todo"


def load_result(run):
    """The run's metrics merged with its extra numbers.

    Args:
        run: a `Run` of the grid.

    Returns:
        The merged dict, or None when the run is not finished.
    """
    if run_state(run) != "finished":
        return None
    metrics = json.loads((run.path / "metrics.json").read_text())
    metrics.update(json.loads((run.path / EXTRA_FILE).read_text()))
    return metrics


# Training examples per data set where the config does not say (n_train).
EXAMPLES = {"mnist": 60000, "cifar": 20000, "bsds": 20000}


def run_work(run):
    """A rough cost of a run for the time-left estimate: examples x epochs x the
    network's hidden width, plus a fixed share for evaluation and figures."""
    c = run.config
    examples = EXAMPLES.get(c.data, c.n_train)
    chosen = find_preset(c.recipe)  # e.g. 55,000 digits; data_batch_1's 10,000 centre crops
    if c.data == "mnist" and chosen.mnist_train is not None:
        examples = chosen.mnist_train
    if c.data == "cifar" and chosen.cifar_patches == "centre":
        examples = 10000
    examples = min(examples, c.max_train or examples)
    width = 1.0 + (sum(c.encoder_units) + sum(c.decoder_units)) / 200.0
    return examples * c.epochs * width / 1e5 + 1.0


def progress_bar(done, total, width=30):
    filled = int(width * done / max(total, 1))
    return "[" + "=" * filled + ">" * (filled < width) + "." * max(width - filled - 1, 0) + "]"


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def summary_line(run, result):
    """One line per finished run: its headline numbers."""
    parts = [
        f"IWAE {result['test_iwae']:.2f}",
        f"MSE {result['mse']:.4g}",
        f"active {result['active_units']}/{run.config.latent_dim}",
    ]
    for key, text in (
        ("basis_recovery", "basis {:.2f}"),
        ("knn_accuracy", "kNN {:.2f}"),
        ("gabor_fraction", "Gabor {:.2f}"),
        ("pattern_classes", "classes {}"),
        ("sharpness", "sharpness {:.2f}"),
    ):
        if result.get(key) is not None:
            parts.append(text.format(result[key]))
    return f"{run.label}: " + ", ".join(parts) + f" ({result['train_seconds']:.0f} s training)"


def run_grid(runs, out, verbose=2, say=print, estimate=None, measure=None, quick=False):
    """Train and measure every run not finished yet; returns ``{label: state}``.

    Prints a progress bar over the grid with an estimate of the time left (the
    seconds per unit of `run_work` of the runs trained in this sitting, times
    the work left; before the first run ends, ``estimate(run)`` seconds per run
    if given), Keras' progress per run
    (``verbose``) and one summary line per finished run. ``measure(run)``
    computes the run's extra numbers (default: `measures.extra_metrics`, with
    its ``quick`` evaluation when ``quick``).

    Args:
        runs: the grid's `Run` list (`grid_runs`).
        out: the grid's output folder.
        verbose: Keras' progress per run (0 silent, 2 one line per epoch).
        say: where the progress and summary lines go.
        estimate: ``estimate(run)``, seconds per run before the first ends.
        measure: ``measure(run)``, the run's extra numbers (a dict).
        quick: use the quick evaluation in the default ``measure``.

    Returns:
        ``{run label: "finished", "failed" or "todo"}``.
    """
    from keras_svae.reproduce.measures import extra_metrics

    measure = measure or (lambda run: extra_metrics(run, out, quick))
    states = {run.label: run_state(run) for run in runs}
    todo = [run for run in runs if states[run.label] == "todo"]
    skipped = len(runs) - len(todo)
    if skipped:
        say(f"grid: {skipped} of {len(runs)} runs finished earlier (or failed), kept")
    spent = []
    for i, run in enumerate(todo):
        if spent:
            rate = sum(spent) / sum(run_work(r) for r in todo[:i])
            seconds_left = rate * sum(run_work(r) for r in todo[i:])
        else:
            seconds_left = sum(estimate(r) for r in todo[i:]) if estimate else None
        eta = f", about {_duration(seconds_left)} left" if seconds_left is not None else ""
        done = skipped + i
        say(f"grid {progress_bar(done, len(runs))} {done}/{len(runs)} runs{eta}; next {run.label}")
        start = time.perf_counter()
        try:
            # A run whose preset changed since is retrained, as the grid always did.
            run_variant(run.config, run.folder, verbose=verbose, say=say, overwrite=True)
        except FloatingPointError as error:
            files.write_json(
                run.folder / f"{run.config.name}.failed.json",
                {"config": _saved_config(run.config), "error": str(error)},
            )
            states[run.label] = "failed"
            say(f"{run.label}: FAILED ({error})")
            spent.append(time.perf_counter() - start)
            continue
        files.write_json(
            run.path / EXTRA_FILE, {**measure(run), "measures_version": MEASURES_VERSION}
        )
        spent.append(time.perf_counter() - start)
        states[run.label] = "finished"
        say(summary_line(run, load_result(run)) + f", {_duration(spent[-1])} in all")
    say(f"grid {progress_bar(len(runs), len(runs))} {len(runs)}/{len(runs)} runs done")
    return states
