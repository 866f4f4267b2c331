"""Natural images: an overcomplete dictionary of V1-like filters.

Sparse coding's defining result (Olshausen and Field, 1996): trained on
whitened natural-image patches, an overcomplete linear dictionary under a
sparse prior becomes a bank of localized, oriented, band-pass filters. The
sparse-coding VAE (Barello et al., 2018; Geadah et al., 2024) keeps that model,
x = A z + noise with a fixed noise scale and more latents than pixels, and
infers z with an encoder.

This module is that experiment: whitened 12x12 BSDS300 patches (photographs
split into training and test by photograph; the test crops are the same for
every seed), 169 and 288 latents, a linear decoder and the fixed noise scale
0.4, chosen by the held-out bound (`NATURAL`, `--data bsds`'s defaults). The
variants (`VARIANTS`) are the ways to keep atoms alive that the literature
uses: unit-norm decoder columns with a learned prior scale, resampling of dead
atoms, both, a learned threshold of exact zeros, and the Normal and Cauchy
priors for contrast. Baselines on the same patches with the same number of
atoms: FISTA sparse coding; and complete ICA (FastICA, one source per pixel).
Each run is ``run_variant`` in ``<out>/natural/seed<k>/`` (resumable, kept when
finished); `dictionary_metrics` adds the per-atom Gabor fits, the exact zeros
per patch and the learned prior parameters, and draws the dictionary and its
analysis (``natural_report`` writes the report).
"""

import math
from pathlib import Path

import keras
import numpy as np

from keras_svae import evaluation, files, plots
from keras_svae.experiment import ExperimentConfig
from keras_svae.experiment.records import MEASURES_VERSION, measured_now
from keras_svae.model import SparseVAE
from keras_svae.reproduce.beyond import (
    FISTA,
    FISTA_SETTINGS,
    ICA,
    ICA_SETTINGS,
    Run,
    cached_data,
    load_result,
    run_comparison,
)

PATCH = (12, 12)
# The experiment's settings are the command line's --data bsds defaults
# (`experiment.config.DATASET_DEFAULTS`, one place), with a smaller evaluation.
NATURAL = dict(data="bsds", iwae_k=500, n_eval=500)
SIZES = (169, 288)
# (key, label, ExperimentConfig fields)
VARIANTS = (
    ("laplace", "Laplace / Normal, free columns", dict(prior="laplace")),
    ("laplace-unitnorm-fixed", "Laplace / Normal, unit-norm columns, fixed prior scale 1",
     dict(prior="laplace", unit_norm_decoder=True)),
    ("laplace-iwae5", "Laplace / Normal, free columns, IWAE k=5",
     dict(prior="laplace", objective="iwae", n_samples=5)),
    ("laplace-unitnorm", "Laplace / Normal, unit-norm columns, learned scale per latent",
     dict(prior="laplace", unit_norm_decoder=True, learn_prior_scale="per_latent")),
    ("laplace-resample", "Laplace / Normal, free columns, dead atoms resampled",
     dict(prior="laplace", resample_every=1)),
    ("laplace-unitnorm-resample", "Laplace / Normal, unit-norm columns, learned scale, resampled",
     dict(prior="laplace", unit_norm_decoder=True, learn_prior_scale="per_latent",
          resample_every=1)),
    ("laplace-threshold", "Laplace / Laplace, learned threshold (exact zeros)",
     dict(prior="laplace", posterior="laplace", threshold="learned")),
    ("normal", "Normal / Normal (no sparsity), free columns", dict(prior="normal")),
    ("cauchy", "Cauchy / Cauchy, free columns", dict(prior="cauchy")),
    ("normal-unitnorm", "Normal / Normal, unit-norm columns, learned scale per latent",
     dict(prior="normal", unit_norm_decoder=True, learn_prior_scale="per_latent")),
    ("cauchy-unitnorm", "Cauchy / Cauchy, unit-norm columns, learned scale per latent",
     dict(prior="cauchy", unit_norm_decoder=True, learn_prior_scale="per_latent")),
)  # fmt: skip
LABELS = {key: label for key, label, _ in VARIANTS} | {
    FISTA: "FISTA sparse coding (L1)",
    ICA: "ICA (FastICA, 144 components)",
}
QUICK = dict(max_train=2000, max_test=300, iwae_k=20, n_eval=100, epochs=2, jit_compile=False)
QUICK_FIT = dict(orientations=(0.0, np.pi / 2), frequencies=(0.15,))


def natural_runs(out, seeds=(0,), quick=False, data_dir=None, sizes=SIZES, variants=None,
                 baselines=True):  # fmt: skip
    """Every run of the experiment in training order (seed, size, variant,
    baselines last).

    Args:
        out: the output folder (runs go to ``<out>/natural/seed<k>/``).
        seeds: the seeds.
        quick: tiny settings (`QUICK`), for tests and a first look.
        data_dir: the folder with BSDS300's training photographs.
        sizes: the numbers of latents.
        variants: keys of `VARIANTS` to run (None: all).
        baselines: also run FISTA with as many atoms, and complete ICA.

    Returns:
        A list of ``beyond.Run``.
    """
    if data_dir is None:
        raise ValueError("the natural-image experiment needs data_dir: BSDS300's photographs.")
    runs = []
    for seed in seeds:
        folder = Path(out) / "natural" / f"seed{seed}"
        for size in sizes:
            fields = dict(NATURAL, latent_dim=size, seed=seed, data_dir=str(data_dir))
            if quick:
                fields.update(QUICK)
            for key, _, changes in VARIANTS:
                if variants is None or key in variants:
                    config = ExperimentConfig(**fields, **changes)
                    runs.append(Run("natural", key, seed, config, folder))
            if baselines:
                config = ExperimentConfig(**fields)
                settings = dict(FISTA_SETTINGS, l1=config.likelihood_scale**2, epochs=config.epochs)
                runs.append(Run("natural", FISTA, seed, config, folder, settings))
        if baselines:  # complete ICA: one source per pixel, whatever the VAEs' sizes
            fields = dict(NATURAL, latent_dim=math.prod(PATCH), seed=seed, data_dir=str(data_dir))
            config = ExperimentConfig(**(fields | (QUICK if quick else {})))
            runs.append(Run("natural", ICA, seed, config, folder, ica=dict(ICA_SETTINGS)))
    return runs


def dictionary_metrics(model, data, folder=None, quick=False):
    """The dictionary's numbers: Gabor fits of every atom (shown as images,
    whitening undone), counts among all and among informative atoms, exact
    zeros per patch, and a learned prior scale's and thresholds' spread.

    Args:
        model: a trained SparseVAE or SparseCoding.
        data: its `ExperimentData`.
        folder: also write ``atoms.json`` (one row per atom), ``dictionary.png``
            (the atoms by usage) and ``analysis.png`` there.
        quick: fewer starting points of the Gabor fits.

    Returns:
        A dict of numbers for the report.
    """
    x = data.x_test
    codes = evaluation.codes(model, x)
    if isinstance(model, SparseVAE):
        informative = evaluation.informative_latents(model, x)
        usage = evaluation.kl_per_latent(model, x[:1000])
    else:  # sparse coding: no posterior; the code's variance decides
        informative = evaluation.active_latents(codes, kl=None)
        usage = codes.var(axis=0)
    patterns = data.for_display(evaluation.latent_patterns(model), difference=True)
    patterns = np.reshape(patterns, (len(patterns), *PATCH))
    analysis = evaluation.analyze_dictionary(
        patterns, PATCH, informative=informative, **(QUICK_FIT if quick else {})
    )
    summary = analysis.summary()
    result = {
        "gabor_like": summary["gabor_like"],
        "gabor_fraction_all": summary["gabor_fraction"],
        "gabor_like_informative": summary["gabor_like_informative"],
        "informative_latents": summary["informative"],
        "active_units": summary["informative"],
        "zero_rate": float(np.mean(codes == 0.0)),
        "zeros_per_patch": float(np.mean(np.sum(codes == 0.0, axis=1))),
        "nonzeros_per_patch": float(np.mean(np.sum(codes != 0.0, axis=1))),
    }
    if isinstance(model, SparseVAE):
        for name, values in (
            ("prior_scale", model.prior_scales()),
            ("threshold", model.thresholds()),
        ):
            if values is not None:
                values = np.asarray(values)
                result[f"{name}_quantiles"] = [float(v) for v in np.quantile(values, [0, 0.5, 1])]
    if folder is not None:
        folder = Path(folder)
        files.write_json(folder / "atoms.json", analysis.to_rows())
        order = np.argsort(-usage)
        plots.plot_patterns(
            patterns, order=order, image_shape=PATCH, path=folder / "dictionary.png",
            labels=[f"R2 {r:.2f}" for r in np.nan_to_num(analysis.r2)],
            title=f"{folder.name}: atoms by usage",
        )  # fmt: skip
        plots.plot_dictionary_analysis(
            analysis, image_shape=PATCH, path=folder / "analysis.png", title=folder.name
        )
    return result


def natural_metrics(run, quick=False):
    """A finished VAE run's numbers beyond ``run_variant``'s: `dictionary_metrics`
    (one Gabor fit per atom; the comparison's own fits are not repeated)."""
    model = keras.models.load_model(run.path / "model.keras")
    return dictionary_metrics(model, cached_data(run.config), run.path, quick)


def estimated_seconds(run, quick=False):
    """A run's wall time on 2 cores, from this experiment's runs of
    2026-12-05: 2.5-4.5 min at 169 latents, 4-7 min at 288, mostly the data,
    the bound and the Gabor fits (training took 36-70 s)."""
    if quick:
        return 30.0
    return 210.0 * run.config.latent_dim / 169


def run_natural(runs, verbose=0, say=print, quick=False):
    """Train and measure every run not finished yet (`beyond.run_comparison`),
    then measure the dictionaries of the FISTA baselines; returns ``{label:
    state}``."""
    states = run_comparison(runs, verbose, say, quick, extra=natural_metrics,
                            estimate=estimated_seconds, title="natural")  # fmt: skip
    for run in runs:
        if (
            run.baseline
            and states[run.label] == "finished"
            and not measured_now(files.read_json(run.path / "dictionary.json", {}))
        ):
            model = keras.models.load_model(run.path / "model.keras")
            numbers = dictionary_metrics(model, cached_data(run.config), run.path, quick)
            numbers["measures_version"] = MEASURES_VERSION
            files.write_json(run.path / "dictionary.json", numbers)
    return states


def natural_result(run):
    """A finished run's numbers (with a baseline's dictionary numbers), or None."""
    result = load_result(run)
    if result is not None and run.baseline:
        result.update(files.read_json(run.path / "dictionary.json", {}))
    return result
