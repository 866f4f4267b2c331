"""How well a model reconstructs its data: the share of the variance kept and
the squared error, against the data or the clean signal."""

import numpy as np

from keras_svae.evaluation.checks import as_flat, is_model, model_inputs, same_shape
from keras_svae.evaluation.latents import batched


def explained_variance(x, reconstructions):
    """1 - MSE / Var(x): the share of the data's variance the reconstructions keep.

    Called as ``explained_variance(model, x)`` it reconstructs ``x`` with the
    model (``model.reconstruct``, the decoded posterior mode) first.

    MSE is the mean over all values of (x - reconstruction)^2 and Var(x) the
    mean over the data's values of their variance across examples, so
    reconstructing every example as the data mean scores 0 and perfect
    reconstructions score 1 (worse than the mean scores below 0).

    Args:
        x: numpy array [n, ...] of examples, n >= 2 (or a trained model).
        reconstructions: numpy array of the same shape (or, after a model,
            the examples: a numpy array or a tf.data.Dataset).

    Returns:
        A float <= 1.

    Raises:
        ValueError: arrays of different shapes, fewer than 2 examples, data
            that do not vary.
    """
    if is_model(x):
        model, x = x, model_inputs(x, reconstructions)
        reconstructions = batched(model.reconstruct, x)
    flat_x = as_flat(x, "x")
    flat_reconstructions = as_flat(reconstructions, "reconstructions")
    same_shape(x, reconstructions, "x", "reconstructions")
    x, reconstructions = flat_x, flat_reconstructions
    if len(x) < 2:
        raise ValueError("explained_variance needs at least 2 examples to measure Var(x).")
    variance = float(np.mean(np.var(x, axis=0)))
    if variance == 0.0:
        raise ValueError("x does not vary across examples (Var(x) = 0): nothing to explain.")
    return 1.0 - float(np.mean((x - reconstructions) ** 2)) / variance


def reconstruction_mse(model, x, reference=None, batch_size=1000):
    """Mean squared error of the reconstructions from the posterior's mode.

    Against the data by default. On synthetic data, pass the clean signal (the
    data before noise was added) as ``reference``: then the number says how
    well the model recovers the signal, and an MSE below the noise variance is
    denoising, not over-fitting.

    Args:
        model: a built SparseVAE.
        x: examples [n, *data_shape] to reconstruct: a numpy array or a
            tf.data.Dataset (see ``checks.model_inputs``).
        reference: optional array of x's shape to compare with instead of x.
        batch_size: examples per call.

    Returns:
        A float: the mean over examples and values of the squared error.
    """
    x = model_inputs(model, x)
    target = x if reference is None else reference
    same_shape(x, target, "x", "reference")
    reconstructions = batched(model.reconstruct, x, batch_size)
    return float(np.mean((reconstructions - np.asarray(target, dtype=np.float64)) ** 2))
