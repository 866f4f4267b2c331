"""The numbers the paper's claims need beyond ``experiment.evaluate_variant``.

The paper judged its figures by eye; each function here turns one judgement
into a number: how sharp reconstructions are, how many digit classes the
latent patterns show (a digit classifier reads them), how Gabor-like patch
patterns are, how much of the code one latent carries, and how noisy the
training gradient is under each KL path.
"""

import functools
import io
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_svae import evaluation, files
from keras_svae.experiment import load_experiment_data
from keras_svae.experiment.datasets import dataset_arrays

CLASSIFIER_FILE = "digit-classifier.npz"
# The paper's "patterns" are decode(5 e_i): each latent set to 5, the others 0.
PATTERN_AMPLITUDE = 5.0
# A pattern "shows" a digit when the classifier gives its class at least this.
READABLE = 0.5
# Quick grids fit Gabors from 6 starting points instead of 18 (3x faster; a
# fit's R^2 can only be lower, so quick Gabor fractions err low).
QUICK_GABOR = {"orientations": (0.0, 1.5707963), "frequencies": (0.15,)}


def sharpness(images):
    """Mean squared finite-difference gradient of images [n, h, w] (edge energy)."""
    images = np.asarray(images, dtype=np.float64)
    dy = np.diff(images, axis=1)
    dx = np.diff(images, axis=2)
    return float(np.mean(dy**2) + np.mean(dx**2))


def sharpness_ratio(x, reconstructions, image_shape):
    """Edge energy of the reconstructions over that of the inputs: 1 is as sharp
    as the data, lower is blurrier (the paper's "less sharp")."""
    shape = (-1, *image_shape)
    return sharpness(np.reshape(reconstructions, shape)) / sharpness(np.reshape(x, shape))


def top_latent_share(
    kl_per_latent, floor=0.0, informative=None, kl_margin=evaluation.sparsity.KL_MARGIN
):
    """Fraction of the KL above the floor carried by the most informative latent
    (1: one latent carries the whole code), or None for a collapsed model.

    The share is a ratio, so it means nothing when every KL is noise: KLs of
    [1e-4, 1e-5] nats would give 0.91. When no latent's KL exceeds ``floor`` by
    more than ``kl_margin`` (test (a) of ``evaluation.active_latents``), or
    when the ``informative`` mask holds no latent, the answer is None. Latents
    outside the mask pay KL without carrying information, and are left out.

    Args:
        kl_per_latent: mean KL per latent in nats, [latent_dim].
        floor: ``evaluation.kl_floor`` ([latent_dim] or a number; 0 for a
            sampled KL).
        informative: boolean mask [latent_dim] (``evaluation.informative_latents``),
            or None to use test (a) alone.
        kl_margin: nats above the floor a latent needs to count.

    Returns:
        A float in (0, 1], or None.
    """
    excess = np.asarray(kl_per_latent, dtype=np.float64) - np.asarray(floor, dtype=np.float64)
    if informative is not None:
        excess = np.where(informative, excess, 0.0)
    if not np.any(excess > kl_margin):
        return None
    excess = np.maximum(excess, 0.0)
    return float(excess.max() / excess.sum())


@functools.lru_cache(maxsize=4)
def gabor_chance(image_shape, quick=False):
    """``evaluation.gabor_chance`` with the fitting options of ``extra_metrics``
    (``QUICK_GABOR`` when ``quick``), computed once per image shape: it
    depends on nothing else, and each call fits 30 patterns."""
    options = QUICK_GABOR if quick else {}
    return evaluation.gabor_chance(tuple(int(s) for s in image_shape), **options)


def digit_classifier(out, mnist_dir=None, n_train=10000):
    """A multinomial logistic regression on MNIST grey digits, trained once and
    cached as ``<out>/digit-classifier.npz``. Returns ``(predict_proba, accuracy)``
    with the accuracy on 2,000 test digits."""
    path = Path(out) / CLASSIFIER_FILE
    if path.is_file():
        saved = np.load(path)
        weights, bias, accuracy = saved["weights"], saved["bias"], float(saved["accuracy"])
    else:
        from sklearn.linear_model import LogisticRegression

        from keras_svae.data import load_mnist

        arrays = {}
        for split in ("train", "test"):
            ds = load_mnist(mnist_dir, split=split, with_labels=True, shuffle=False)[0]
            arrays[split] = dataset_arrays(ds)
        x, y = arrays["train"][0][:n_train], arrays["train"][1][:n_train]
        model = LogisticRegression(max_iter=300, C=0.1).fit(x, y)
        weights, bias = model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)
        x_test, y_test = arrays["test"][0][:2000], arrays["test"][1][:2000]
        accuracy = float(np.mean(np.argmax(x_test @ weights + bias, axis=1) == y_test))
        buffer = io.BytesIO()
        np.savez(buffer, weights=weights, bias=bias, accuracy=accuracy)
        files.write_bytes(path, buffer.getvalue())

    def predict_proba(x):
        logits = np.reshape(x, (len(x), -1)) @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    return predict_proba, accuracy


def pattern_classes(model, predict_proba):
    """How many distinct digit classes the patterns decode(5 e_i) show, counting
    a pattern when the classifier is at least ``READABLE`` sure of it."""
    z = PATTERN_AMPLITUDE * np.eye(model.latent_dim, dtype=np.float32)
    p = predict_proba(np.clip(np.asarray(model.decode(z)), 0.0, 1.0))
    readable = p.max(axis=1) >= READABLE
    classes = np.argmax(p, axis=1)[readable]
    return int(len(set(classes.tolist()))), int(readable.sum())


def gradient_variance(model, x, repeats=16):
    """Total variance (trace of the covariance) of the loss gradient over fresh
    latent draws on one fixed batch, under the closed-form and under the sampled
    KL, at the same weights. Returns ``{"analytic": v, "sampled": v}``.

    The KL term's gradient alone is not measured: under the closed form it has
    no sampling noise, so its variance is float rounding (about 1e-13) and a
    ratio to it measures nothing."""
    x = tf.convert_to_tensor(x, tf.float32)
    saved, result = model.kl_is_analytic, {}

    def flat(gradients):
        return np.concatenate([np.ravel(v) for v in gradients if v is not None])

    try:
        for mode, analytic in (("analytic", True), ("sampled", False)):
            model.kl_is_analytic = analytic
            grads = []
            for _ in range(repeats):
                with tf.GradientTape() as tape:
                    reconstruction, kl = model.elbo_terms(x, training=True)
                    loss = tf.reduce_mean(reconstruction) + tf.reduce_mean(kl)
                grads.append(flat(tape.gradient(loss, model.trainable_weights)))
            result[mode] = float(np.var(np.stack(grads), axis=0, ddof=1).sum())
    finally:
        model.kl_is_analytic = saved
    return result


def extra_metrics(run, out, quick=False):
    """The claim numbers of one finished run (stored in its ``reproduce.json``);
    ``quick`` fits Gabors from fewer starting points."""
    config = run.config
    metrics = json.loads((run.path / "metrics.json").read_text())
    model = keras.models.load_model(run.path / "model.keras")
    keras.utils.set_random_seed(config.seed)
    data = load_experiment_data(config)
    x = data.x_test
    floor = evaluation.kl_floor(model)
    informative = evaluation.informative_latents(model, x, seed=config.seed)
    extra = {
        "kl_top_share": top_latent_share(
            metrics["kl_per_latent"], 0.0 if floor is None else floor, informative
        )
    }
    shown = data.for_display(x)
    image_shape = shown.shape[1:3] if shown.ndim >= 3 else None
    if image_shape is None and config.data == "mnist":
        image_shape = (28, 28)
    if config.data in ("mnist", "cifar") and image_shape is not None:
        reconstructions = data.for_display(evaluation.batched(model.reconstruct, x))
        extra["sharpness"] = sharpness_ratio(shown, reconstructions, image_shape)
    if config.data == "mnist" and config.latent_dim > 2:
        mnist_dir = Path(config.data_dir) if config.data_dir else None
        predict_proba, accuracy = digit_classifier(out, mnist_dir)
        extra["pattern_classes"], extra["readable_patterns"] = pattern_classes(model, predict_proba)
        extra["classifier_accuracy"] = accuracy
    if config.data == "cifar":
        patterns = data.for_display(evaluation.latent_patterns(model), difference=True)
        options = QUICK_GABOR if quick else {}
        fit = evaluation.gabor_likeness(
            np.reshape(patterns, (len(patterns), *image_shape)), tuple(image_shape),
            active=informative, **options,
        )  # fmt: skip
        extra["gabor_fraction"], extra["gabor_median_r2"] = fit["fraction"], fit["median_r2"]
        extra["gabor_chance"] = gabor_chance(tuple(image_shape), quick)
    if run.role == "kl-pair" or (config.data == "synthetic" and config.prior == "laplace"):
        variance = gradient_variance(model, x[: min(200, len(x))])
        extra["grad_variance_analytic"] = variance["analytic"]
        extra["grad_variance_sampled"] = variance["sampled"]
    return extra
