"""Beyond the paper: the sparse-coding family of priors and posteriors, compared.

Nine prior/posterior pairings (`PAIRINGS`) and the classic baseline,
Olshausen-Field sparse coding with FISTA codes (`SparseCoding`), are trained
on three data sets (`DATASETS`: whitened natural-image patches, CIFAR-10 12x12
patches with the library recipe, synthetic 5x5 patches with known bases) and
measured the same way. Each VAE run is ``experiment.run_variant`` in
``<out>/<data>/seed<k>/``, so a finished run is kept and an interrupted one
resumes from its last epoch; the extra numbers (`extra_metrics`) are cached
beside it in ``beyond.json``. The FISTA baseline has its own small runner
(`run_fista`): skipped when its ``metrics.json`` holds the same settings,
written atomically; so has the ICA baseline (`run_ica`: scikit-learn's
FastICA, one source per pixel), added to the runs with ``ica=True``.
``report.md`` has one table per data set (mean ± sd over
seeds), the patterns of every pairing and, per metric, which pairing is best
when its margin over the second is larger than the spread over seeds
(`beyond_report`).
"""

import dataclasses
import json
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from keras_svae import evaluation, files, plots
from keras_svae.experiment import ExperimentConfig, load_experiment_data, run_variant
from keras_svae.experiment.records import MEASURES_VERSION, measured_now, same_config
from keras_svae.model import SparseVAE
from keras_svae.reproduce.grid import progress_bar, recorded_failure
from keras_svae.reproduce.measures import QUICK_GABOR, gabor_chance

EXTRA_FILE = "beyond.json"
FISTA = "fista"
ICA = "ica"
# (key, label, ExperimentConfig fields). Student-t's df 3 is its default.
PAIRINGS = (
    ("normal", "normal / normal", dict(prior="normal")),
    ("laplace", "laplace / normal (paper)", dict(prior="laplace")),
    ("cauchy", "cauchy / cauchy (paper)", dict(prior="cauchy")),
    ("laplace-laplace", "laplace / laplace", dict(prior="laplace", posterior="laplace")),
    ("laplace-learned", "laplace / laplace, learned threshold",
     dict(prior="laplace", posterior="laplace", threshold="learned")),
    ("spike_slab", "spike-slab / spike-slab", dict(prior="spike_slab")),
    ("student_t", "student-t (df 3) / normal", dict(prior="student_t", prior_df=3.0)),
    ("horseshoe", "horseshoe / normal", dict(prior="horseshoe")),
    ("laplace-iwae5", "laplace / normal, IWAE k=5",
     dict(prior="laplace", objective="iwae", n_samples=5)),
)  # fmt: skip
LABELS = {key: label for key, label, _ in PAIRINGS} | {
    FISTA: "FISTA sparse coding (L1)",
    ICA: "ICA (FastICA, complete)",
}
# Patches: 25 latents, a FIXED noise scale 0.5 and KL warm-up (a learned scale
# collapses to noise, DESIGN.md); CIFAR uses training/configs/cifar.toml's
# [library] recipe (a test checks the fields match). BSDS keeps the settings it
# was run with (batches of 128, 1e-3 decayed to 1e-4, no XLA), not --data bsds's
# overcomplete defaults. Epochs: the full
# comparison (3 seeds) fits about 65 min on 2 cores (see SIZING).
DATASETS = {
    "bsds": ("Natural-image patches (BSDS300, 12x12, ZCA-whitened), 25 latents", "bsds300/train",
             dict(data="bsds", latent_dim=25, whiten="zca", learn_likelihood_scale=False,
                  likelihood_scale=0.5, kl_warmup_epochs=3, epochs=25, iwae_k=500, n_eval=500,
                  batch_size=128, learning_rate=1e-3, final_learning_rate=1e-4,
                  jit_compile=False, patches_per_image=100)),
    "cifar": ("CIFAR-10 12x12 patches (mean-removed, unit std, not whitened), 25 latents",
              "cifar10", dict(data="cifar", latent_dim=25, whiten="none",
                              learn_likelihood_scale=False, likelihood_scale=0.5,
                              kl_warmup_epochs=3, epochs=25, iwae_k=500, n_eval=500)),
    "synthetic": ("Synthetic 5x5 patches (5 known bases + noise), 10 latents", None,
                  dict(data="synthetic", latent_dim=10)),
}  # fmt: skip
QUICK = {"max_train": 3000, "max_test": 400, "iwae_k": 50, "n_eval": 200, "kl_warmup_epochs": 1,
         "jit_compile": False}  # fmt: skip
QUICK_EPOCHS = {"bsds": 2, "cifar": 2, "synthetic": 10}
# FISTA: the MAP counterpart of the Laplace(0, 1) prior under the same fixed
# noise sigma is l1 = sigma^2 (0.25 for patches, 0.01 for synthetic).
FISTA_SETTINGS = {"n_iter": 100, "learning_rate": 1e-2}
# ICA: complete (n_components None: one source per feature), keras_svae.ICA's defaults.
ICA_SETTINGS = {"n_components": None, "fun": "logcosh", "max_iter": 1000, "tol": 1e-4}
NEAR_ZERO = 0.1  # in standard deviations of each latent's code


@dataclasses.dataclass
class Run:
    """One cell: a pairing (or FISTA, or ICA) on a data set with a seed."""

    data: str
    pairing: str
    seed: int
    config: ExperimentConfig
    folder: Path
    fista: dict | None = None  # the FISTA settings; None for a VAE run
    ica: dict | None = None  # the ICA settings; None for a VAE or FISTA run

    @property
    def baseline(self):
        """Whether this is a classical baseline (FISTA or ICA), not a VAE."""
        return bool(self.fista or self.ica)

    @property
    def name(self):
        c = self.config
        if self.ica:
            return f"{c.data}-{ICA}"
        return f"{c.data}-{FISTA}-z{c.latent_dim}" if self.fista else c.name

    @property
    def path(self):
        return self.folder / self.name

    @property
    def label(self):
        return f"{self.data}/seed{self.seed}/{self.name}"


def comparison_runs(out, seeds=(0, 1, 2), quick=False, data_dir=None, datasets=None,
                    pairings=None, overrides=None, ica=False):  # fmt: skip
    """Every run in training order (seed, data set, pairing, FISTA, then ICA
    when ``ica``). ``overrides`` (config fields, after ``quick``) apply to
    every run; ``datasets`` / ``pairings`` pick subsets by key."""
    runs = []
    for seed in seeds:
        for data in datasets or DATASETS:
            _, subdir, fields = DATASETS[data]
            fields = dict(fields, seed=seed)
            if quick:
                fields.update(QUICK, epochs=QUICK_EPOCHS[data])
            if subdir:
                if data_dir is None and data == "bsds":
                    raise ValueError("the bsds patches need --data-dir (with bsds300/train).")
                if data_dir is not None:
                    fields["data_dir"] = str(Path(data_dir) / subdir)
            fields.update(overrides or {})
            folder = Path(out) / data / f"seed{seed}"
            for key, _, changes in PAIRINGS:
                if pairings is None or key in pairings:
                    runs.append(Run(data, key, seed, ExperimentConfig(**fields, **changes), folder))
            config = ExperimentConfig(**fields)
            scale = config.likelihood_scale or config.noise_std
            fista = dict(FISTA_SETTINGS, l1=scale**2, epochs=config.epochs)
            runs.append(Run(data, FISTA, seed, config, folder, fista))
            if ica:
                runs.append(Run(data, ICA, seed, config, folder, ica=dict(ICA_SETTINGS)))
    return runs


def _saved(run):
    saved = {"config": dataclasses.asdict(run.config), "fista": run.fista}
    if run.ica:
        saved["ica"] = run.ica
    return json.loads(json.dumps(saved))


def trained(run):
    """Whether ``run``'s folder holds a trained model of exactly its settings
    (its numbers may still be an older version's: `run_state`)."""
    saved = files.read_json(run.path / "metrics.json", {})
    return (
        same_config(saved.get("config"), run.config)
        and saved.get("fista") == _saved(run)["fista"]
        and saved.get("ica") == _saved(run).get("ica")
        and (run.path / "model.keras").is_file()
    )


def run_state(run):
    """ "finished", "failed" (same settings) or "todo". A trained run whose
    numbers an older version measured is "todo": it is measured again from its
    saved model, not retrained."""
    measured = measured_now(files.read_json(run.path / "metrics.json", {})) and (
        run.baseline or measured_now(files.read_json(run.path / EXTRA_FILE, {}))
    )
    if trained(run) and measured:
        return "finished"
    failed = run.folder / f"{run.name}.failed.json"
    return "failed" if recorded_failure(failed, "settings", _saved(run)) else "todo"


def load_result(run):
    """The run's metrics with its extra numbers, or None (not finished)."""
    if run_state(run) != "finished":
        return None
    result = json.loads((run.path / "metrics.json").read_text())
    if not run.baseline:
        result.update(json.loads((run.path / EXTRA_FILE).read_text()))
    return result


_DATA = {}


def cached_data(config):
    """`load_experiment_data` for ``config``, reused for runs that differ only in
    the model (the pairings of one data set and seed); one data set is kept."""
    fields = dataclasses.asdict(config)
    for key in ("prior", "posterior", "prior_df", "slab_probability", "prior_scale", "threshold",
                "threshold_prior", "objective", "n_samples", "kl", "tag"):  # fmt: skip
        fields.pop(key)
    key = json.dumps(fields, sort_keys=True, default=str)
    if key not in _DATA:
        _DATA.clear()
        keras.utils.set_random_seed(config.seed)
        _DATA[key] = load_experiment_data(config)
    return _DATA[key]


def code_metrics(model, data, quick=False):
    """Sparsity of the codes ``encode(x).mode()`` on the test patches (exact
    zeros; fraction within ``NEAR_ZERO`` standard deviations of 0, each latent
    standardised so models with different code scales compare), active units
    and, for image patches, the Gabor-likeness of the active latents' patterns."""
    x = data.x_test
    codes = evaluation.codes(model, x)
    if isinstance(model, SparseVAE):
        informative = evaluation.informative_latents(model, x)
    else:  # sparse coding: no posterior, so no KL; the code's variance decides
        informative = evaluation.active_latents(codes, kl=None)
    std = codes.std(axis=0)
    standard = codes / np.where(std > 0, std, 1.0)
    result = {
        "zero_rate": float(evaluation.l0_curve(codes, [0.0])[0]),
        "near_zero": float(evaluation.l0_curve(standard, [NEAR_ZERO])[0]),
        "active_units": int(informative.sum()),
    }
    if data.true_bases is None:  # image patches
        patterns = data.for_display(evaluation.latent_patterns(model), difference=True)
        fit = evaluation.gabor_likeness(
            np.reshape(patterns, (len(patterns), 12, 12)), (12, 12),
            active=informative, **(QUICK_GABOR if quick else {}),
        )  # fmt: skip
        result.update(gabor_fraction=fit["fraction"], gabor_median_r2=fit["median_r2"],
                      gabor_chance=gabor_chance((12, 12), quick))  # fmt: skip
    return result


def extra_metrics(run, quick=False):
    """The numbers of a finished VAE run that ``run_variant`` does not write."""
    model = keras.models.load_model(run.path / "model.keras")
    return code_metrics(model, cached_data(run.config), quick)


def run_fista(run, verbose=0, quick=False):
    """Train and measure the FISTA baseline of ``run`` and write its folder
    (metrics.json, patterns.png, model.keras) atomically; a finished run with
    the same settings is kept, and one measured by an older version is
    measured again from its saved model. Returns its metrics."""
    from keras_svae.sparse_coding import SparseCoding

    if run_state(run) == "finished":
        return load_result(run)
    config, settings = run.config, run.fista
    data = cached_data(config)
    if trained(run):
        saved = files.read_json(run.path / "metrics.json", {})
        model = keras.models.load_model(run.path / "model.keras")
        record = {key: saved[key] for key in ("train_seconds", "history")}
        with files.atomic_path(run.path, directory=True) as work:
            shutil.copy2(run.path / "model.keras", work / "model.keras")
            _measure_baseline(run, model, data, record, work, quick)
        return load_result(run)
    keras.utils.set_random_seed(config.seed)
    model = SparseCoding(config.latent_dim, l1=settings["l1"], n_iter=settings["n_iter"],
                         data_shape=data.x_test.shape[1:], seed=config.seed)  # fmt: skip
    model.compile(keras.optimizers.Adam(settings["learning_rate"]), steps_per_execution=32)
    options = {"batch_size": config.batch_size} if data.info is None else {"shuffle": False}
    start = time.perf_counter()
    history = model.fit(data.train, epochs=settings["epochs"], verbose=verbose, **options)
    seconds = time.perf_counter() - start
    if not np.all(np.isfinite(history.history["loss"])):
        raise FloatingPointError(f"{run.name}: the FISTA training loss became NaN or Inf.")
    record = {
        "train_seconds": seconds,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }
    with files.atomic_path(run.path, directory=True) as work:
        model.save(work / "model.keras")
        _measure_baseline(run, model, data, record, work, quick)
    return load_result(run)


def run_ica(run, quick=False):
    """Fit and measure the ICA baseline of ``run`` (scikit-learn's FastICA on
    the training examples, `keras_svae.ICA`) and write its folder
    (metrics.json, patterns.png, model.keras) atomically, as `run_fista`
    does: a finished run with the same settings is kept, and one measured by
    an older version is measured again from its saved model. Its metrics add
    ``n_iter`` and ``converged`` (whether FastICA stopped before
    ``max_iter``). Returns its metrics."""
    from keras_svae import ica as independent_components
    from keras_svae.evaluation.checks import dataset_examples

    if run_state(run) == "finished":
        return load_result(run)
    data = cached_data(run.config)
    if trained(run):
        saved = files.read_json(run.path / "metrics.json", {})
        model = keras.models.load_model(run.path / "model.keras")
        record = {key: saved[key] for key in ("train_seconds", "n_iter", "converged")}
        with files.atomic_path(run.path, directory=True) as work:
            shutil.copy2(run.path / "model.keras", work / "model.keras")
            _measure_baseline(run, model, data, record, work, quick)
        return load_result(run)
    shape = data.x_test.shape[1:]
    x = data.train if data.info is None else dataset_examples(data.train, shape)
    model = independent_components.ICA(seed=run.config.seed, **run.ica)
    start = time.perf_counter()
    model.fit(x)
    record = {"train_seconds": time.perf_counter() - start, "n_iter": model.n_iter,
              "converged": model.converged}  # fmt: skip
    with files.atomic_path(run.path, directory=True) as work:
        model.save(work / "model.keras")
        _measure_baseline(run, model, data, record, work, quick)
    return load_result(run)


def _measure_baseline(run, model, data, record, work, quick):
    """Write a FISTA or ICA run's metrics.json (with ``record``: its training
    time and history or iterations) and patterns.png into ``work``."""
    config, x = run.config, data.x_test
    reconstructions = evaluation.batched(model.reconstruct, x)
    metrics = {
        "mse": float(np.mean((reconstructions - x) ** 2)),
        "explained_variance": evaluation.explained_variance(x, reconstructions),
        **code_metrics(model, data, quick),
        **record,
        "measures_version": MEASURES_VERSION,
    }
    patterns = evaluation.latent_patterns(model)
    if data.true_bases is not None:
        match = evaluation.basis_recovery(patterns, data.true_bases)
        chance = evaluation.basis_recovery_chance(  # as many patterns as the model has
            data.true_bases, model.latent_dim, seed=config.seed
        )
        metrics.update(basis_recovery=float(match.score),
                       basis_recovery_min=float(np.min(match.cosine)),
                       basis_recovery_chance=chance["mean"],
                       basis_recovery_chance_interval=[chance["low"], chance["high"]])  # fmt: skip
    order = np.argsort(-evaluation.codes(model, x).var(axis=0))
    bases = data.true_bases
    plots.plot_patterns(
        data.for_display(patterns, difference=True), order=order, title=run.name,
        path=work / "patterns.png",
        true_bases=None if bases is None else bases.reshape(len(bases), *patterns.shape[1:]),
    )  # fmt: skip
    files.write_json(work / "metrics.json", {**metrics, **_saved(run)})


def _duration(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def estimated_seconds(run, quick=False):
    """A run's wall time on 2 cores from the measurements in
    `beyond_report.SIZING`: a fixed part (data, evaluation, figures, Gabor
    fits) plus its epochs."""
    c = run.config
    if c.data == "synthetic":
        return (4.0 if run.fista else 6.0) if quick else (6.0 if run.fista else 13.0)
    if run.ica:  # BSDS, 18,000 patches: FastICA 16 s, Gabor fits of 144 atoms 160 s
        return 50.0 if quick else 180.0
    fixed = (11.0 if quick else 24.0) - 4.0 * bool(run.fista)
    slow = c.objective == "iwae" or c.prior == "horseshoe"
    per_epoch = 1.2 if run.fista else (2.0 if slow else 1.5)
    return fixed + c.epochs * per_epoch * min(1.0, (c.max_train or 20000) / 20000)


def run_comparison(runs, verbose=0, say=print, quick=False, extra=None, estimate=None,
                   title="beyond"):  # fmt: skip
    """Train and measure every run not finished yet; returns ``{label: state}``.
    A run whose loss becomes NaN or Inf is recorded (``<name>.failed.json``)
    and not retried with the same settings. Prints a progress bar with an
    estimate of the time left and one line per finished run.

    ``extra(run, quick)`` (default `extra_metrics`) gives a VAE run's numbers
    beyond ``run_variant``'s, ``estimate(run, quick)`` (default
    `estimated_seconds`) its expected seconds; ``title`` starts the lines."""
    extra = extra or extra_metrics
    estimate = estimate or estimated_seconds
    states = {run.label: run_state(run) for run in runs}
    todo = [run for run in runs if states[run.label] == "todo"]
    if len(todo) < len(runs):
        kept = len(runs) - len(todo)
        say(f"{title}: {kept} of {len(runs)} runs finished earlier (or failed), kept")
    start = time.perf_counter()
    for i, run in enumerate(todo):
        done = len(runs) - len(todo) + i
        estimates = [estimate(r, quick) for r in todo]
        rate = (time.perf_counter() - start) / sum(estimates[:i]) if i else 1.0
        eta = f"about {_duration(rate * sum(estimates[i:]))} left"
        say(f"{title} {progress_bar(done, len(runs))} {done}/{len(runs)} runs, {eta}; "
            f"next {run.label}")  # fmt: skip
        began = time.perf_counter()
        try:
            if run.fista:
                run_fista(run, verbose, quick)
            elif run.ica:
                run_ica(run, quick)
            else:
                # A run whose preset changed since is retrained, as the grid always did.
                run_variant(run.config, run.folder, verbose=verbose, say=say, overwrite=True)
                if not measured_now(files.read_json(run.path / EXTRA_FILE, {})):
                    numbers = {**extra(run, quick), "measures_version": MEASURES_VERSION}
                    files.write_json(run.path / EXTRA_FILE, numbers)
        except FloatingPointError as error:
            files.write_json(run.folder / f"{run.name}.failed.json",
                             {"settings": _saved(run), "error": str(error)})  # fmt: skip
            states[run.label] = "failed"
            say(f"{run.label}: FAILED ({error})")
            continue
        states[run.label] = "finished"
        r = load_result(run)
        iwae = f"IWAE {r['test_iwae']:.2f}, " if "test_iwae" in r else ""
        say(f"{run.label}: {iwae}MSE {r['mse']:.4g}, zeros {r['zero_rate']:.2f}, active "
            f"{r['active_units']}, {_duration(time.perf_counter() - began)}")  # fmt: skip
    return states
