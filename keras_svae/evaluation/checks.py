"""Input checks shared by the evaluation modules, with errors that name the problem.

Every metric refuses what it cannot give an honest number for (wrong shapes,
too few examples, missing labels) instead of returning a number computed on
broadcast or truncated arrays.
"""

import numpy as np


def as_matrix(values, what, min_rows=1, min_columns=1):
    """Return ``values`` as a finite float64 array [n, d], or raise a ValueError.

    Args:
        values: array-like with a batch axis and one feature axis.
        what: the argument's name, for the error message.
        min_rows: the fewest examples the caller can work with.
        min_columns: the fewest features (latents) the caller can work with.
    """
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"{what} must have shape (examples, latents), got shape {array.shape}.")
    if array.shape[0] < min_rows:
        raise ValueError(f"{what} holds {array.shape[0]} examples; this needs at least {min_rows}.")
    if array.shape[1] < min_columns:
        raise ValueError(f"{what} has {array.shape[1]} columns; this needs at least {min_columns}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or Inf values.")
    return array


def as_flat(values, what):
    """Return ``values`` as a finite float64 array [n, everything else]."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 2 or array.shape[0] < 1:
        raise ValueError(
            f"{what} must have a batch axis and at least one data axis, got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or Inf values.")
    return array.reshape(array.shape[0], -1)


def same_shape(a, b, what_a, what_b):
    """Raise a ValueError unless arrays ``a`` and ``b`` have the same shape."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{what_a} has shape {np.shape(a)} but {what_b} has shape {np.shape(b)}; "
            "they must match example for example."
        )


def as_labels(labels, n, min_classes=2):
    """Return ``labels`` as an array [n] with at least ``min_classes`` classes.

    Separability needs labels: None (or the wrong number of them) is a
    ValueError, not a silent fallback to an unsupervised number.
    """
    if labels is None:
        raise ValueError(
            "Separability needs the examples' class labels (labels=None was given); "
            "pass e.g. the test split's labels alongside its codes."
        )
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per example (shape (n,)), got {labels.shape}.")
    if len(labels) != n:
        raise ValueError(f"There are {n} codes but {len(labels)} labels; they must match.")
    classes = np.unique(labels)
    if len(classes) < min_classes:
        raise ValueError(
            f"labels hold {len(classes)} distinct class(es); separability needs at "
            f"least {min_classes}."
        )
    return labels


def positive_int(value, what):
    """Return ``value`` as an int, or raise a ValueError unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}.")
    return int(value)


def model_inputs(model, x):
    """Return examples ``x`` as a finite float32 array shaped for ``model``.

    The metrics that run the networks directly (ELBO, IWAE, per-latent KL)
    check here what ``model.encode`` checks for the others.
    """
    if getattr(model, "data_shape", None) is None:
        raise ValueError(
            "The model is not built, so its data shape is unknown: fit it or pass "
            "data_shape= to SparseVAE first."
        )
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"x must be numeric, got dtype {x.dtype}.")
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(
            f"x must hold at least one example of shape {tuple(model.data_shape)}, "
            f"got shape {x.shape}."
        )
    if tuple(x.shape[1:]) != tuple(model.data_shape):
        raise ValueError(
            f"Each example of x has shape {tuple(x.shape[1:])}, but the model expects "
            f"{tuple(model.data_shape)}."
        )
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf values.")
    return x
