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
from keras_svae.callbacks import ImageSummaries
from keras_svae.data.synthetic import synthetic_patches
from keras_svae.validation import check_positive_int
from keras_svae.model import SparseVAE

DATASETS = ("synthetic", "mnist", "cifar", "bsds", "toy")

# The paper's setting for each data set; command-line flags override them.
# jit_compile: XLA where it measured faster (the MNIST MLP, BENCHMARKS.md); on
# the small synthetic model the XLA compile outweighs the gain (9 s without,
# 13 s with, for the laplace main job at steps_per_execution=32).
DATASET_DEFAULTS = {
    "synthetic": dict(latent_dim=10, decoder="linear", encoder_units=(64,),
                      decoder_units=(), epochs=30, batch_size=100, jit_compile=False),
    "mnist": dict(latent_dim=10, decoder="mlp", encoder_units=(512, 256),
                  decoder_units=(256, 512), epochs=20, batch_size=128, jit_compile=True),
    "cifar": dict(latent_dim=25, decoder="linear", encoder_units=(256,),
                  decoder_units=(), epochs=20, batch_size=128, jit_compile=False),
    "bsds": dict(latent_dim=25, decoder="linear", encoder_units=(256,),
                 decoder_units=(), epochs=20, batch_size=128, jit_compile=False),
    "toy": dict(latent_dim=2, decoder="mlp", encoder_units=(64,), decoder_units=(64,),
                epochs=30, batch_size=100, jit_compile=False),
}


@dataclasses.dataclass
class ExperimentConfig:
    """Everything that defines one training run (stored in metrics.json).

    ``None`` fields take the data set's default from ``DATASET_DEFAULTS``.
    """

    data: str = "synthetic"
    prior: str = "laplace"
    posterior: str | None = None
    latent_dim: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4
    n_samples: int = 1
    beta: float = 1.0
    kl: str = "auto"
    encoder: str = "mlp"
    decoder: str | None = None
    encoder_units: tuple | None = None
    decoder_units: tuple | None = None
    seed: int = 0
    jit_compile: bool | None = None
    steps_per_execution: int = 32
    data_dir: str | None = None
    n_train: int = 20000
    n_test: int = 2000
    noise_std: float = 0.1

    def __post_init__(self):
        if self.data not in DATASETS:
            raise ValueError(
                f"Unknown data set {self.data!r}. Valid choices: "
                f"{', '.join(map(repr, DATASETS))}."
            )
        check_positive_int(self.steps_per_execution, "steps_per_execution")
        for key, value in DATASET_DEFAULTS[self.data].items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    @property
    def name(self):
        return f"{self.data}-{self.prior}-z{self.latent_dim}"


@dataclasses.dataclass
class ExperimentData:
    """Training data (array or tf.data pipeline), test arrays, and how the model
    should treat and show them."""

    train: object
    x_test: np.ndarray
    likelihood: str
    likelihood_scale: float = 1.0
    learn_likelihood_scale: bool = False
    labels_test: np.ndarray | None = None
    true_bases: np.ndarray | None = None
    noise_variance: float | None = None
    info: object = None  # the DatasetInfo of the training pipeline, if any

    def for_display(self, x):
        """Map model-space examples back to images (undo whitening, reshape)."""
        x = np.asarray(x)
        if self.info is None:
            return x
        patch_shape = self.info.preprocessing.get("patch_shape")
        if self.info.whitening is not None or self.info.scale is not None:
            x = self.info.undo_preprocessing(x)
        if patch_shape:
            return x.reshape(len(x), *patch_shape)
        return x


def _arrays(dataset):
    """Materialise a (small) test pipeline of (x, label) batches as arrays."""
    xs, labels = [], []
    for x, label in dataset.as_numpy_iterator():
        xs.append(x)
        labels.append(label)
    return np.concatenate(xs), np.concatenate(labels)


def _need_data_dir(config, what):
    if config.data_dir is None:
        raise ValueError(
            f"--data {config.data} needs --data-dir: a folder with {what}."
        )
    return config.data_dir


def load_experiment_data(config):
    """The training pipeline and test arrays for ``config.data``."""
    from keras_svae import data as loaders

    seed, batch = config.seed, config.batch_size
    if config.data == "synthetic":
        train = synthetic_patches(config.n_train, seed=seed, noise_std=config.noise_std)
        test = synthetic_patches(config.n_test, seed=seed + 1, noise_std=config.noise_std)
        return ExperimentData(
            train=train.x, x_test=test.x, likelihood="gaussian",
            likelihood_scale=config.noise_std, true_bases=train.bases,
            noise_variance=config.noise_std**2,
        )
    if config.data == "mnist":
        options = dict(path=config.data_dir, batch_size=batch, seed=seed)
        train, info = loaders.load_mnist(split="train", **options)
        x_test, labels = _arrays(loaders.load_mnist(split="test", with_labels=True,
                                                    shuffle=False, **options)[0])
        return ExperimentData(train=train, x_test=x_test, labels_test=labels,
                              likelihood="bernoulli", info=info)
    if config.data in ("cifar", "bsds"):
        patch_options = dict(patch_size=12, whiten="zca", batch_size=batch, seed=seed)
        if config.data == "cifar":
            train, info = loaders.load_cifar10_patches(
                config.data_dir, split="train", patches_per_image=2, **patch_options)
            test = loaders.load_cifar10_patches(
                config.data_dir, split="test", with_labels=True, shuffle=False,
                preprocessing_from=info, **patch_options)[0]
        else:
            folder = Path(_need_data_dir(config, "JPEG/PNG photographs"))
            files = sorted(p for p in folder.iterdir()
                           if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
            held_out = max(1, len(files) // 10)
            train, info = loaders.load_image_patches(files[:-held_out], **patch_options)
            test = loaders.load_image_patches(
                files[-held_out:], with_labels=True, shuffle=False,
                preprocessing_from=info, **patch_options)[0]
        x_test, labels = _arrays(test)
        return ExperimentData(train=train, x_test=x_test, labels_test=labels,
                              likelihood="gaussian", likelihood_scale=0.5,
                              learn_likelihood_scale=True, info=info)
    train, info = loaders.load_toy(config.n_train, seed=seed, batch_size=batch)
    x_test, amplitudes = _arrays(loaders.load_toy(config.n_test, seed=seed + 1,
                                                  with_labels=True, shuffle=False)[0])
    return ExperimentData(train=train, x_test=x_test, labels_test=amplitudes[:, 0],
                          likelihood="bernoulli", info=info)


def build_model(config, data):
    """A compiled SparseVAE for ``config`` with a learning rate decayed from
    ``learning_rate`` to ``final_learning_rate`` over the run."""
    model = SparseVAE(
        latent_dim=config.latent_dim,
        prior=config.prior,
        posterior=config.posterior,
        likelihood=data.likelihood,
        likelihood_scale=data.likelihood_scale,
        learn_likelihood_scale=data.learn_likelihood_scale,
        encoder=config.encoder,
        decoder=config.decoder,
        encoder_units=config.encoder_units,
        decoder_units=config.decoder_units or (),
        data_shape=data.x_test.shape[1:],
        n_samples=config.n_samples,
        beta=config.beta,
        kl=config.kl,
        seed=config.seed,
        metadata=data.info.to_config() if data.info is not None else None,
    )
    examples = data.info.num_examples if data.info is not None else len(data.train)
    steps = config.epochs * -(-examples // config.batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate,
        decay_steps=max(steps, 1),
        decay_rate=config.final_learning_rate / config.learning_rate,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=10.0),
                  jit_compile=config.jit_compile,
                  steps_per_execution=config.steps_per_execution)
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
        data.for_display(data.x_test[:10]), data.for_display(reconstructions),
        folder / "reconstructions.png", title=title,
    )
    plots.plot_patterns(data.for_display(patterns), folder / "patterns.png", title=title)
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
            data.train,
            epochs=config.epochs,
            batch_size=None if data.info is not None else config.batch_size,
            shuffle=data.info is None,  # pipelines shuffle themselves (seeded)
            verbose=verbose,
            callbacks=[
                keras.callbacks.TensorBoard(log_dir=str(work / "logs")),
                ImageSummaries(work / "logs", data.x_test[:8], every=max(1, config.epochs // 10),
                               display=data.for_display),
            ],
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
