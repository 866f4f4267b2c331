"""Train one variant of the paper's experiments and write its model, numbers and
figures; compare variants in a table. The command line (training/train.py) is a
thin wrapper over ``run_variant`` and ``comparison_table``.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from keras_svae import evaluation, plots
from keras_svae.data.synthetic import synthetic_patches
from keras_svae.model import SparseVAE

DATASETS = ("synthetic",)


@dataclasses.dataclass
class ExperimentConfig:
    """Everything that defines one training run (stored in metrics.json)."""

    data: str = "synthetic"
    prior: str = "laplace"
    posterior: str | None = None
    latent_dim: int = 10
    epochs: int = 30
    batch_size: int = 100
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4
    n_samples: int = 1
    beta: float = 1.0
    kl: str = "auto"
    encoder: str = "mlp"
    decoder: str = "linear"
    encoder_units: tuple = (64,)
    decoder_units: tuple = (128, 256)
    seed: int = 0
    n_train: int = 20000
    n_test: int = 2000
    noise_std: float = 0.1

    @property
    def name(self):
        return f"{self.data}-{self.prior}-z{self.latent_dim}"


@dataclasses.dataclass
class ExperimentData:
    """Arrays for one experiment and how the model should treat them."""

    x_train: np.ndarray
    x_test: np.ndarray
    likelihood: str
    likelihood_scale: float = 1.0
    labels_test: np.ndarray | None = None
    true_bases: np.ndarray | None = None
    noise_variance: float | None = None


def load_experiment_data(config):
    """The train and test arrays for ``config.data``."""
    if config.data == "synthetic":
        train = synthetic_patches(config.n_train, seed=config.seed, noise_std=config.noise_std)
        test = synthetic_patches(config.n_test, seed=config.seed + 1, noise_std=config.noise_std)
        return ExperimentData(
            x_train=train.x,
            x_test=test.x,
            likelihood="gaussian",
            likelihood_scale=config.noise_std,
            true_bases=train.bases,
            noise_variance=config.noise_std**2,
        )
    raise ValueError(
        f"Unknown data set {config.data!r}. Valid choices: "
        f"{', '.join(map(repr, DATASETS))}."
    )


def build_model(config, data):
    """A compiled SparseVAE for ``config`` with a learning rate decayed from
    ``learning_rate`` to ``final_learning_rate`` over the run."""
    model = SparseVAE(
        latent_dim=config.latent_dim,
        prior=config.prior,
        posterior=config.posterior,
        likelihood=data.likelihood,
        likelihood_scale=data.likelihood_scale,
        encoder=config.encoder,
        decoder=config.decoder,
        encoder_units=config.encoder_units,
        decoder_units=config.decoder_units,
        data_shape=data.x_train.shape[1:],
        n_samples=config.n_samples,
        beta=config.beta,
        kl=config.kl,
        seed=config.seed,
    )
    steps = config.epochs * -(-len(data.x_train) // config.batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate,
        decay_steps=max(steps, 1),
        decay_rate=config.final_learning_rate / config.learning_rate,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=10.0))
    return model


def evaluate_variant(model, data):
    """The numbers that make the paper's claims checkable."""
    test = model.evaluate(data.x_test, batch_size=1000, verbose=0, return_dict=True)
    latent_codes = evaluation.codes(model, data.x_test)
    patterns = evaluation.latent_patterns(model)
    metrics = {
        "test_loss": test["loss"],
        "test_reconstruction": test["reconstruction"],
        "test_kl": test["kl"],
        "reconstruction_mse": evaluation.reconstruction_mse(model, data.x_test),
        "active_units": evaluation.active_units(latent_codes),
        "hoyer_sparsity": evaluation.hoyer_sparsity(latent_codes)
        if model.latent_dim > 1 else None,
    }
    if data.noise_variance:
        metrics["mse_over_noise_variance"] = metrics["reconstruction_mse"] / data.noise_variance
    if data.true_bases is not None:
        metrics["basis_recovery"] = evaluation.basis_recovery(patterns, data.true_bases)
    return metrics, latent_codes, patterns


def _write_json(value, path):
    temporary = Path(path).with_name(f".{Path(path).name}.tmp")
    temporary.write_text(json.dumps(value, indent=2, default=float))
    os.replace(temporary, path)


def write_figures(model, data, latent_codes, patterns, folder, title):
    """The paper's figures for one variant, as PNG files in ``folder``."""
    reconstructions = evaluation._batched(model.reconstruct, data.x_test[:10])
    plots.plot_reconstructions(
        data.x_test, reconstructions, folder / "reconstructions.png", title=title
    )
    plots.plot_patterns(patterns, folder / "patterns.png", title=title)
    if model.latent_dim == 2:
        plots.plot_latent_spread(
            latent_codes, folder / "latent_spread.png", labels=data.labels_test, title=title
        )
        plots.plot_latent_grid(model, folder / "latent_grid.png", title=title)


def run_variant(config, out_dir, verbose=0):
    """Train one variant and write ``out_dir/<name>/`` with model.keras,
    metrics.json, figures and TensorBoard logs. Returns the metrics dict.

    The folder is assembled under a temporary name and renamed when complete.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / config.name
    work = Path(tempfile.mkdtemp(prefix=f".{config.name}.", dir=out_dir))
    work.chmod(0o755)
    try:
        keras.utils.set_random_seed(config.seed)
        data = load_experiment_data(config)
        model = build_model(config, data)
        start = time.perf_counter()
        history = model.fit(
            data.x_train,
            epochs=config.epochs,
            batch_size=config.batch_size,
            verbose=verbose,
            callbacks=[keras.callbacks.TensorBoard(log_dir=str(work / "logs"))],
        )
        seconds = time.perf_counter() - start
        metrics, latent_codes, patterns = evaluate_variant(model, data)
        metrics.update(
            name=config.name,
            prior=config.prior,
            posterior=model.posterior_family,
            kl_path="analytic" if model.kl_is_analytic else "sampled",
            train_seconds=seconds,
            train_loss_history=history.history["loss"],
            config=dataclasses.asdict(config),
        )
        model.save(work / "model.keras")
        write_figures(model, data, latent_codes, patterns, work, config.name)
        _write_json(metrics, work / "metrics.json")
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return metrics


def comparison_table(results):
    """A Markdown table of the variants' key numbers."""
    columns = [
        ("variant", "name", "{}"),
        ("KL", "kl_path", "{}"),
        ("test -ELBO", "test_loss", "{:.2f}"),
        ("test KL", "test_kl", "{:.2f}"),
        ("MSE", "reconstruction_mse", "{:.4f}"),
        ("MSE/noise var", "mse_over_noise_variance", "{:.2f}"),
        ("active", "active_units", "{}"),
        ("Hoyer", "hoyer_sparsity", "{:.2f}"),
        ("basis recovery", "basis_recovery", "{:.3f}"),
        ("train s", "train_seconds", "{:.0f}"),
    ]
    columns = [c for c in columns if any(r.get(c[1]) is not None for r in results)]
    lines = [
        "| " + " | ".join(c[0] for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for result in results:
        cells = [
            fmt.format(result[key]) if result.get(key) is not None else "-"
            for _, key, fmt in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
