"""One run end to end: build the model, train it (resumably), measure it, draw
its figures and write them all into the run's folder."""

import contextlib
import dataclasses
import time
from pathlib import Path

import keras
import numpy as np

from keras_svae import data as loaders
from keras_svae import evaluation, files, plots
from keras_svae.callbacks import ImageSummaries, KLWarmUp, SparsitySummaries
from keras_svae.checkpoints import BackupAndRestore
from keras_svae.experiment.config import ExperimentConfig
from keras_svae.experiment.datasets import load_experiment_data
from keras_svae.experiment.records import (
    MEASURES_VERSION,
    check_not_replacing,
    finished_metrics,
    measured_now,
    read_history,
    resume_epoch,
)
from keras_svae.experiment.workers import agree_on_checkpoint
from keras_svae.model import SparseVAE
from keras_svae.quirks import MATRIX_MODES
from keras_svae.resampling import RESAMPLE_EXAMPLES, ResampleDeadAtoms, training_sample
from keras_svae.thresholds import THRESHOLD_PRIOR
from keras_svae.validation import check_seed, execution_size

# A run in progress lives here (inside the output folder) until it is complete;
# a killed run's folder is reused by the next run of the same name.
WORK_SUFFIX = f"{files.PARTIAL_MARK}run"


def build_model(config, data):
    """A compiled SparseVAE for ``config``; the learning rate decays
    exponentially from ``learning_rate`` to ``final_learning_rate`` over the
    run, and Adam clips the gradient's global norm at ``clipnorm``.

    Args:
        config: the run's `ExperimentConfig`.
        data: its `ExperimentData` (the likelihood and the data's shape).

    Returns:
        A compiled ``SparseVAE``, not yet trained.
    """
    model = SparseVAE(
        latent_dim=config.latent_dim,
        prior=config.prior,
        posterior=config.posterior,
        prior_df=config.prior_df,
        slab_probability=config.slab_probability,
        threshold=config.threshold,
        threshold_prior=config.threshold_prior or THRESHOLD_PRIOR,
        train_size=data.num_train if config.threshold_prior_weighting == "train_set" else None,
        unit_norm_decoder=config.unit_norm_decoder,
        learn_prior_scale=config.learn_prior_scale,
        prior_scale=1.0 if config.prior_scale is None else config.prior_scale,
        objective=config.objective,
        likelihood=data.likelihood,
        likelihood_scale=data.likelihood_scale,
        learn_likelihood_scale=data.learn_likelihood_scale,
        encoder=config.encoder,
        decoder=config.decoder,
        encoder_units=config.encoder_units,
        decoder_units=config.decoder_units,
        activation=config.activation,
        decoder_activation=config.decoder_activation,
        scale_activation=config.scale_activation,
        data_shape=data.x_test.shape[1:],
        n_samples=config.n_samples,
        beta=config.beta,
        kl=config.kl,
        noise=config.noise,
        noise_batch_size=config.batch_size if config.noise in MATRIX_MODES else None,
        noise_alpha=config.noise_alpha,
        kl_quirk=config.kl_quirk,
        seed=config.seed,
        metadata=data.info.to_config() if data.info is not None else None,
    )
    rate = config.learning_rate
    if config.final_learning_rate != config.learning_rate:
        steps = config.epochs * -(-data.num_train // config.batch_size)
        rate = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=max(steps, 1),
            decay_rate=config.final_learning_rate / config.learning_rate,
        )
    execution = config.steps_per_execution
    if data.info is None:  # arrays: trained with steps_per_epoch (run_variant)
        execution = execution_size(-(-data.num_train // config.batch_size), execution)
    model.compile(
        optimizer=keras.optimizers.Adam(rate, global_clipnorm=config.clipnorm),
        jit_compile=config.jit_compile,
        steps_per_execution=execution,
    )
    return model


def evaluate_variant(model, data, config, progress=False):
    """The numbers that make the paper's claims checkable (see the README's
    table for what each means).

    Args:
        model: the trained SparseVAE.
        data: the run's `ExperimentData` (test examples, labels, true bases).
        config: the run's `ExperimentConfig` (``n_eval``, ``iwae_k``, seed).
        progress: show a Keras progress bar of the IWAE estimate.

    Returns:
        ``(metrics, codes, patterns, kl)``: a dict of the numbers, the test
        codes [n, latent_dim], the latents' patterns and the mean KL per latent.
    """
    x = data.x_test
    n_eval = min(config.n_eval, len(x))
    latent_codes = evaluation.codes(model, x)
    patterns = evaluation.latent_patterns(model)
    kl = evaluation.kl_per_latent(model, x, per_example=True, seed=config.seed)
    floor = evaluation.kl_floor(model)  # None for a sampled KL: collapse not measured
    informative = evaluation.active_latents(
        latent_codes, kl=kl, floor=floor, scale=model.prior_scale
    )  # one mask for active units, collapse and Hoyer sparsity
    reconstructions = evaluation.batched(model.reconstruct, x)
    log_likelihood = evaluation.iwae(
        model, x[:n_eval], k=config.iwae_k, seed=config.seed, progress=progress
    )
    metrics = {
        "test_iwae": float(np.mean(log_likelihood)),
        "test_iwae_sem": float(np.std(log_likelihood) / np.sqrt(n_eval)),
        "iwae_k": config.iwae_k,
        "iwae_examples": n_eval,
        "test_kl": float(kl.sum(axis=1).mean()),
        "kl_per_latent": kl.mean(axis=0).tolist(),
        "mse": float(np.mean((reconstructions - x) ** 2)),
        "explained_variance": evaluation.explained_variance(x, reconstructions),
        "informative_latents": int(informative.sum()),
        "active_units": int(informative.sum()),
        "kl_floor": None if floor is None else float(np.mean(floor)),
        "collapsed_fraction": None if floor is None else float(1.0 - np.mean(informative)),
        "hoyer_sparsity": evaluation.hoyer_sparsity(latent_codes, informative)
        if model.latent_dim > 1
        else None,
    }
    if model.posterior_family != "cauchy":
        # A Cauchy posterior's ELBO is minus infinity (E_q |z| is infinite, so
        # are both likelihoods' expected terms): no estimate of it is reported.
        metrics["test_elbo"] = float(np.mean(evaluation.elbo(model, x[:n_eval], seed=config.seed)))
    if data.clean_test is not None:
        metrics["mse_clean"] = float(np.mean((reconstructions - data.clean_test) ** 2))
    if data.noise_variance:
        metrics["noise_variance"] = data.noise_variance
    if data.true_bases is not None:
        match = evaluation.basis_recovery(patterns, data.true_bases)
        metrics["basis_recovery"] = float(match.score)
        metrics["basis_recovery_min"] = float(np.min(match.cosine))
        chance = evaluation.basis_recovery_chance(
            data.true_bases, model.latent_dim, seed=config.seed
        )
        metrics["basis_recovery_chance"] = chance["mean"]  # random patterns' score
        metrics["basis_recovery_chance_interval"] = [chance["low"], chance["high"]]
    if data.label_kind == "class" and model.latent_dim > 0:
        metrics["knn_accuracy"] = evaluation.knn_accuracy(latent_codes, data.labels_test)
        metrics["linear_probe_accuracy"] = evaluation.linear_probe_accuracy(
            latent_codes, data.labels_test
        )
    return metrics, latent_codes, patterns, kl.mean(axis=0)


def write_figures(model, data, latent_codes, patterns, kl, history, folder, title):
    """The paper's figures for one variant, as PNG files in ``folder``.

    Args:
        model: the trained SparseVAE.
        data: the run's `ExperimentData`.
        latent_codes: the test codes (from `evaluate_variant`).
        patterns: the latents' patterns (from `evaluate_variant`).
        kl: the mean KL per latent, which orders the patterns.
        history: the Keras history dict, for the loss curves.
        folder: where the PNG files go.
        title: the figures' title (the run's name).
    """
    folder = Path(folder)
    n = min(10, len(data.x_test))
    reconstructions = evaluation.batched(model.reconstruct, data.x_test[:n])
    plots.plot_reconstructions(
        data.for_display(data.x_test[:n]), data.for_display(reconstructions),
        path=folder / "reconstructions.png", title=title,
    )  # fmt: skip
    order = np.argsort(-kl)
    bases = data.true_bases
    plots.plot_patterns(
        data.for_display(patterns, difference=True), order=order, title=title,
        path=folder / "patterns.png",
        labels=[f"z{k} KL {v:.2f}" for k, v in enumerate(kl)],
        true_bases=None if bases is None else bases.reshape(len(bases), *patterns.shape[1:]),
    )  # fmt: skip
    plots.plot_latent_kl(kl, path=folder / "latent_kl.png", title=title)
    plots.plot_training_curves(history, path=folder / "training_curves.png", title=title)
    if model.latent_dim == 2:
        plots.plot_latent_spread(
            latent_codes, labels=data.labels_test, path=folder / "latent_spread.png", title=title
        )
        plots.plot_latent_grid(model, path=folder / "latent_grid.png", title=title)


def run_variant(
    config, out_dir, verbose=0, say=print, callbacks=(), strategy=None, overwrite=False
):
    """Train one variant and write ``out_dir/<name>/`` with model.keras,
    metrics.json, figures and TensorBoard logs.

    A finished run of the same config is kept (its metrics returned); one of
    other settings is replaced only with ``overwrite``, once the new run is
    complete. The run is assembled in ``out_dir/.<name>.partial-run/``,
    checkpointed each epoch, and a killed run continues from its last finished
    epoch (the training guide's "Crash recovery" says with which weights).

    Args:
        config: the run's `ExperimentConfig`.
        out_dir: the folder that holds the runs' folders.
        verbose: Keras' ``fit`` verbosity (0 silent).
        say: where progress lines go (``print``).
        callbacks: more Keras callbacks for ``fit``.
        strategy: a ``tf.distribute`` strategy (the model is made in its scope;
            ``config.batch_size`` is the global batch), or None.
        overwrite: replace a finished run of other settings.

    Returns:
        The run's metrics dict, as in its metrics.json.

    Raises:
        ValueError: for a config that is not an ExperimentConfig, or a run of
            other settings in the way without ``overwrite``.
        FloatingPointError: when the training loss became NaN or Inf.
    """
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"config must be an ExperimentConfig, got {type(config).__name__}.")
    out_dir = files.check_output_folder(out_dir, "--out")  # before any data is read
    check_seed(config.seed, "seed", allow_none=False)
    done = finished_metrics(config, out_dir)
    if done is not None and measured_now(done):
        say(f"{config.name}: finished earlier, kept ({out_dir / config.name}/)")
        return done
    if done is not None and (out_dir / config.name / "model.keras").is_file():
        say(f"{config.name}: finished earlier with older measures; measuring its saved model again")
        return remeasure_variant(config, out_dir, done)
    if not overwrite:
        check_not_replacing(config, out_dir)  # before any data is read or trained
    keras.utils.set_random_seed(config.seed)
    data = load_experiment_data(config)  # bad input fails here, before anything is written
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build_model(config, data)
    work = out_dir / f".{config.name}{WORK_SUFFIX}"
    work.mkdir(parents=True, exist_ok=True)
    say(
        f"{config.name}: {model.prior_spec} prior, {model.posterior_family} posterior, KL "
        f"{'closed form' if model.kl_is_analytic else 'sampled'}, {data.likelihood} likelihood; "
        f"{data.num_train:,} training examples, {config.epochs} epochs -> {out_dir / config.name}/"
    )
    x_watch = data.x_test[: min(1000, len(data.x_test))]
    every = max(1, config.epochs // 10)
    agree_on_checkpoint(strategy, work / "backup", say=lambda line: say(f"{config.name}: {line}"))
    done_epochs = resume_epoch(work / "backup")
    if done_epochs:
        say(f"{config.name}: continuing after epoch {done_epochs} from {work / 'backup'}")
    train, steps_per_epoch = data.train, None
    if data.info is None:  # arrays: each epoch's order from (seed, epoch), exact on resume
        steps_per_epoch = -(-len(data.train) // config.batch_size)
        train = loaders.make_epochs_dataset(
            data.train, config.batch_size, config.seed, config.epochs, done_epochs
        )
    fit_callbacks = [
        # Before the checkpoint: a run killed between the two reruns the epoch,
        # whose row read_history then replaces.
        keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
        BackupAndRestore(work / "backup", save_freq=config.checkpoint_steps or "epoch"),
        keras.callbacks.TerminateOnNaN(),
        # Before TensorBoard, which then plots the kl_weight it logs.
        *([KLWarmUp(config.kl_warmup_epochs)] if config.kl_warmup_epochs else []),
        keras.callbacks.TensorBoard(log_dir=str(work / "logs")),
        ImageSummaries(
            work / "logs",
            data.x_test[:8],
            every=every,
            display=data.for_display,
            pattern_display=lambda patterns: data.for_display(patterns, difference=True),
        ),  # fmt: skip
        SparsitySummaries(work / "logs", x_watch, every=every),
    ]
    if config.resample_every:
        fit_callbacks.append(
            ResampleDeadAtoms(
                training_sample(data.train, RESAMPLE_EXAMPLES, data.x_test.shape[1:]),
                every=config.resample_every,
                until=max(1, config.epochs // 2),
                seed=config.seed,
            )
        )
    fit_callbacks += list(callbacks)
    start = time.perf_counter()
    model.fit(
        train,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=data.x_test,
        validation_batch_size=1000,
        validation_freq=every,
        verbose=verbose,
        callbacks=fit_callbacks,
    )
    seconds = time.perf_counter() - start
    history = read_history(work / "history.csv")
    losses = history.get("loss", [])
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError(
            f"{config.name}: the training loss became NaN or Inf in epoch {len(losses)}; "
            "training stopped (TerminateOnNaN). Lower the learning rate or check the data."
        )
    metrics, latent_codes, patterns, kl = evaluate_variant(model, data, config)
    metrics.update(
        name=config.name,
        prior=config.prior,
        posterior=model.posterior_family,
        kl_path="analytic" if model.kl_is_analytic else "sampled",
        train_seconds=seconds,
        history=history,
        config=dataclasses.asdict(config),
        measures_version=MEASURES_VERSION,
    )
    collapse = evaluation.collapse_message(metrics)  # the WarnOnCollapse callback's line
    if collapse is not None:
        say(f"{config.name}: {collapse}")
    model.save(work / "model.keras")
    write_figures(model, data, latent_codes, patterns, kl, history, work, config.name)
    files.write_json(work / "metrics.json", metrics)
    files.remove(work / "backup")
    files.replace_folder(work, out_dir / config.name)
    return metrics


def remeasure_variant(config, out_dir, saved):
    """Measure a finished run again from its saved model: the numbers and
    figures of `evaluate_variant` / `write_figures` as this version computes
    them, the training record (history, time, config) kept from ``saved``
    (its metrics.json). metrics.json is written last, so a run interrupted
    here is measured again next time.

    Args:
        config: the run's `ExperimentConfig`.
        out_dir: the folder that holds the run's folder.
        saved: the run's metrics.json as read.

    Returns:
        The new metrics dict, as written.
    """
    folder = Path(out_dir) / config.name
    keras.utils.set_random_seed(config.seed)
    data = load_experiment_data(config)
    model = keras.models.load_model(folder / "model.keras")
    metrics, latent_codes, patterns, kl = evaluate_variant(model, data, config)
    history = saved.get("history", {})
    write_figures(model, data, latent_codes, patterns, kl, history, folder, config.name)
    kept = ("name", "prior", "posterior", "kl_path", "train_seconds", "history", "config")
    metrics.update({key: saved[key] for key in kept if key in saved})
    metrics["measures_version"] = MEASURES_VERSION
    files.write_json(folder / "metrics.json", metrics)
    return metrics
