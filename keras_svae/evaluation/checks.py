"""Input checks shared by the evaluation modules, with errors that name the problem.

Every metric refuses what it cannot give an honest number for (wrong shapes,
too few examples, missing labels) instead of returning a number computed on
broadcast or truncated arrays.
"""

import numpy as np
import tensorflow as tf

# How to get each array argument from a model, for the error that a model (or
# a dataset) given in its place gets.
FROM_A_MODEL = {
    "latent_codes": "evaluation.codes(model, x)",
    "patterns": "evaluation.latent_patterns(model)",
    "reconstructions": "model.reconstruct(x)",
    "x": "the examples as a numpy array",
    "terms": "evaluation.kl_per_latent(model, x, per_example=True)",
}


def is_model(value):
    """Whether ``value`` is a model the metrics can run: it encodes examples
    and knows their shape (a SparseVAE, or the SparseCoding baseline)."""
    return hasattr(value, "encode") and hasattr(value, "data_shape")


def refuse_non_array(values, what):
    """Raise a ValueError naming the expected argument when ``values`` is a
    model, a dataset or None instead of an array (numpy's own errors, "dtype
    object" or "shape ()", say nothing about what was meant)."""
    source = FROM_A_MODEL.get(what, "a numpy array")
    if is_model(values):
        raise ValueError(
            f"{what} must be a numpy array, got a {type(values).__name__} model; pass {source} "
            "(the functions that take the model itself take (model, x): codes, elbo, iwae, "
            "kl_per_latent, informative_latents, reconstruction_mse)."
        )
    if isinstance(values, tf.data.Dataset):
        raise ValueError(
            f"{what} must be a numpy array, got a tf.data.Dataset; pass a numpy array "
            "(np.concatenate(list(dataset.as_numpy_iterator())) collects a batched one)."
        )
    if values is None or np.isscalar(values):
        raise ValueError(f"{what} must be a numpy array, got {values!r}; pass {source}.")


def as_matrix(values, what, min_rows=1, min_columns=1):
    """Return ``values`` as a finite float64 array [n, d], or raise a ValueError.

    Args:
        values: array-like with a batch axis and one feature axis.
        what: the argument's name, for the error message.
        min_rows: the fewest examples the caller can work with.
        min_columns: the fewest features (latents) the caller can work with.
    """
    refuse_non_array(values, what)
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
    refuse_non_array(values, what)
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(
            f"{what} must be a numeric array, got dtype {array.dtype} (examples of different "
            "shapes, or not numbers); pass one numpy array [examples, ...]."
        )
    array = array.astype(np.float64)
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

    Every metric that takes ``(model, x)`` checks its arguments here: the model
    comes first, and ``x`` is a numpy array (or anything numpy turns into one)
    or a finite ``tf.data.Dataset`` of examples, batched or not, alone or as
    the first part of ``(x, y)`` / ``(x, y, sample_weight)`` elements.

    Raises:
        ValueError: ``model`` is not a built model, or ``x`` is not examples
            of the model's data shape (the error names the expected form).
    """
    if not is_model(model):
        raise ValueError(
            f"The first argument must be the trained model (this function takes (model, x)), "
            f"got {type(model).__name__}. E.g. evaluation.iwae(model, x_test)."
        )
    if getattr(model, "data_shape", None) is None:
        raise ValueError(
            "The model is not built, so its data shape is unknown: fit it or pass "
            "data_shape= to SparseVAE first."
        )
    shape = tuple(model.data_shape)
    if isinstance(x, tf.data.Dataset):
        x = dataset_examples(x, shape)
    refuse_non_array(x, "x")
    try:
        x = np.asarray(x)
    except ValueError:  # numpy refuses ragged sequences
        raise ValueError(
            f"x must be one numeric array of examples of shape {shape}; its examples have "
            "different shapes."
        ) from None
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(
            f"x must be a numeric array of examples of shape {shape}, got dtype {x.dtype}; pass "
            "a numpy array or a tf.data.Dataset."
        )
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"x must hold at least one example of shape {shape}, got shape {x.shape}.")
    if tuple(x.shape[1:]) != shape:
        raise ValueError(
            f"Each example of x has shape {tuple(x.shape[1:])}, but the model expects {shape}."
        )
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf values.")
    return x


def dataset_examples(dataset, data_shape):
    """The examples of a finite ``tf.data.Dataset`` as one numpy array: its
    elements are examples of ``data_shape`` or batches of them, alone or the
    first part of a tuple (labels and weights are dropped)."""
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            "x is an infinite tf.data.Dataset (it repeats); pass a finite one, e.g. "
            "dataset.take(n) of a batched dataset."
        )
    parts = []
    for element in dataset.as_numpy_iterator():
        if isinstance(element, (tuple, list)):
            element = element[0]
        if isinstance(element, dict):
            raise ValueError(
                "x is a dataset of dicts; pass a dataset of examples (or of (x, y) tuples)."
            )
        element = np.asarray(element)
        if element.shape == data_shape:
            element = element[None]
        elif element.shape[1:] != data_shape:
            raise ValueError(
                f"x is a dataset whose elements have shape {element.shape}; the model expects "
                f"examples of shape {data_shape} or batches of them."
            )
        parts.append(element)
    if not parts:
        raise ValueError("x is an empty dataset: pass at least one example.")
    return np.concatenate(parts)
