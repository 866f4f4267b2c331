"""Checks of what users pass in, with errors that name the fix.

Name lookups live in ``keras_svae.names``; each likelihood checks that data can
come from it (``Likelihood.check_array`` for numpy, ``check_tensor`` inside
``tf.data``); this module holds the rest: scalars, numpy data, shapes, and the
``fit`` / ``evaluate`` arguments and data.
"""

import keras
import numpy as np
import tensorflow as tf

# The checks of SparseVAE's own arguments live in ``arguments``; re-exported here.
from keras_svae.arguments import (  # noqa: F401
    MAX_SEED,
    check_latents,
    check_metadata,
    check_network,
    check_save_path,
    check_seed,
    check_threshold,
    check_unit_norm,
)

# Data beyond this magnitude makes squared errors and their gradients overflow
# float32 (max 3.4e38) in a step; such data is refused, not trained to NaN.
MAX_DATA_MAGNITUDE = 1e8


def check_positive_int(value, what):
    """Return ``value`` as an int, or raise a ValueError unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}.")
    return int(value)


def check_number(value, what, minimum=None):
    """Return ``value`` as a float, or raise a ValueError unless it is a finite
    real number (not a string or bool) of at least ``minimum``."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{what} must be a number, got {value!r} ({type(value).__name__}).")
    number = float(value)
    if not np.isfinite(number) or (minimum is not None and number < minimum):
        bound = "" if minimum is None else f" >= {minimum:g}"
        raise ValueError(f"{what} must be a finite number{bound}, got {value!r}.")
    return number


def check_scale(value, what):
    """Return ``value`` as a float, or raise a ValueError unless it is a finite number > 0."""
    try:
        number = check_number(value, what)
    except ValueError:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}.") from None
    if number <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}.")
    return number


def check_activation(value, what):
    """Return ``value`` (None or the name of a Keras activation), or raise a
    ValueError naming it: checked when the model is made, not when it is built."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            keras.activations.get(value)
            return value
        except ValueError:
            pass
    raise ValueError(
        f"{what} must be None or the name of a Keras activation "
        f"(e.g. 'relu', 'softplus', 'sigmoid'), got {value!r}."
    )


def batch_shape(data):
    """The shape of a batch of ``data`` (an array or a ``tf.data.Dataset`` of
    x or (x, ...)) when its examples' shape is known, else None."""
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        shape = (spec[0] if isinstance(spec, (tuple, list)) else spec).shape
        shape = tuple(shape) if shape.rank is not None else ()
    else:
        shape = np.shape(data)
    if len(shape) >= 2 and None not in shape[1:]:
        return tuple(shape)
    return None


def check_data_array(x):
    """Return ``x`` as a numpy array, or raise a ValueError if a model cannot
    train on it: not numeric, no batch axis, empty, NaN/Inf, or so large that
    float32 arithmetic overflows."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"Data must be numeric, got dtype {x.dtype}.")
    if x.ndim < 2:
        raise ValueError(
            f"Data must have a batch axis and at least one data axis, got shape {x.shape}. "
            "Add the batch axis, e.g. x[None] for one example."
        )
    if x.shape[0] == 0:
        raise ValueError(f"The data is empty (shape {x.shape}): pass at least one example.")
    finite = np.isfinite(x)
    bad = x.size - int(np.count_nonzero(finite))
    if bad:
        first = int(np.argmin(finite.reshape(len(x), -1).all(axis=1)))
        raise ValueError(
            f"The data contains {bad} NaN or Inf values (the first in example {first}). "
            "Remove or impute them (e.g. np.nan_to_num, or drop those examples)."
        )
    largest = float(np.max(np.abs(x))) if x.size else 0.0
    if largest > MAX_DATA_MAGNITUDE:
        raise ValueError(
            f"The data reaches |x| = {largest:.3g}, beyond {MAX_DATA_MAGNITUDE:g}, where "
            "float32 losses and gradients overflow. Standardise or rescale it "
            "(e.g. x / x.std())."
        )
    return x


# ------------------------------------------------------------ fit / evaluate
# Errors raised inside tf.data (the in-pipeline data checks) reach Python as
# tf.errors.InvalidArgumentError; their message is put between these marks so
# ``data_error`` can hand the user our words as a ValueError.
DATA_ERROR_START = "[keras_svae data error: "
DATA_ERROR_END = " :keras_svae data error]"


def data_error_message(message):
    """The text an in-pipeline check raises, recognisable by ``data_error``."""
    return f"{DATA_ERROR_START}{message}{DATA_ERROR_END}"


def data_error(error):
    """The ValueError for an InvalidArgumentError raised by an in-pipeline
    check, or None for any other error."""
    text = str(error)
    if DATA_ERROR_START not in text:
        return None
    message = text.split(DATA_ERROR_START, 1)[1].split(DATA_ERROR_END, 1)[0]
    return ValueError(message.replace("\\'", "'"))


UNSUPERVISED = (
    "SparseVAE learns from x alone and takes no labels (y). Drop y; for a tf.data "
    "dataset of (x, label) pairs, pass dataset.map(lambda x, label: x)."
)


def check_fit_arguments(x, y, kwargs):
    """Refuse ``fit`` / ``evaluate`` arguments that Keras would accept and a
    SparseVAE would silently ignore or mishandle."""
    if x is None:
        raise ValueError(
            "No data: pass the training examples as x (an array or a tf.data.Dataset)."
        )
    if y is not None:
        raise ValueError(UNSUPERVISED)
    if "epochs" in kwargs:  # Keras trains nothing at epochs=0 and says nothing
        epochs = kwargs["epochs"]
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}: 0 trains nothing.")
        initial = kwargs.get("initial_epoch", 0)
        if (
            isinstance(initial, bool)
            or not isinstance(initial, (int, np.integer))
            or not (0 <= initial < epochs)
        ):
            raise ValueError(f"initial_epoch must be an integer in [0, {epochs}), got {initial!r}.")
    if kwargs.get("class_weight") is not None:
        raise ValueError(
            "class_weight needs class labels, which a SparseVAE does not use. Pass "
            "per-example weights as sample_weight= instead."
        )
    for name in (
        "batch_size",
        "validation_batch_size",
        "steps_per_epoch",
        "validation_steps",
        "steps",
    ):
        if kwargs.get(name) is not None:
            check_positive_int(kwargs[name], name)


def check_compile_arguments(kwargs):
    """Refuse ``compile`` arguments a SparseVAE would silently ignore."""
    for name in ("loss", "metrics", "weighted_metrics", "loss_weights"):
        if kwargs.get(name) is not None:
            raise ValueError(
                f"SparseVAE.compile takes no {name}=: the loss is the negative ELBO and the "
                "model reports loss, reconstruction and kl itself. Compute other numbers "
                "after training with keras_svae.evaluation."
            )
    if "steps_per_execution" in kwargs:
        check_positive_int(kwargs["steps_per_execution"], "steps_per_execution")


def check_epoch_steps(steps_per_epoch, steps_per_execution):
    """Refuse a ``steps_per_epoch`` that ``steps_per_execution`` does not divide.

    Keras runs an epoch as executions of ``steps_per_execution`` steps and
    does not shorten the last one, so with steps_per_epoch=100 and
    steps_per_execution=32 every epoch takes 128 batches: epochs end in the
    wrong places and a pipeline sized for the run runs out and starts again
    (measured: 5,024 steps instead of 4,000 over 40 epochs).
    """
    execution = steps_per_execution or 1
    if steps_per_epoch and execution > 1 and int(steps_per_epoch) % int(execution):
        raise ValueError(
            f"steps_per_epoch={steps_per_epoch} is not a multiple of the compiled "
            f"steps_per_execution={execution}: Keras would take "
            f"{-(-int(steps_per_epoch) // int(execution)) * int(execution)} batches an epoch, "
            "running into the next epoch's. Compile with a steps_per_execution that divides "
            f"it (e.g. {execution_size(steps_per_epoch, execution)})."
        )


def execution_size(steps_per_epoch, requested):
    """The largest steps_per_execution up to ``requested`` that divides
    ``steps_per_epoch`` (see ``check_epoch_steps``): 25 for 100 steps an
    epoch and 32 requested."""
    return max(d for d in range(1, int(requested) + 1) if int(steps_per_epoch) % d == 0)


def check_example_shape(shape, data_shape):
    """Raise a ValueError unless examples of ``shape`` fit a model built for
    ``data_shape`` (None: not built yet, anything goes)."""
    shape = tuple(shape)
    if data_shape is not None and shape != tuple(data_shape):
        raise ValueError(
            f"Input examples have shape {shape}, but this model was built for examples of "
            f"shape {tuple(data_shape)}. Reshape the data, or build a new model for this shape."
        )


def _examples_spec(dataset):
    """The spec of a dataset's examples: its element's, or its tuple's first."""
    spec = dataset.element_spec
    return spec[0] if isinstance(spec, (tuple, list)) and spec else spec


def _element_rank(dataset):
    """The rank of a dataset's examples tensor, or None."""
    spec = _examples_spec(dataset)
    return spec.shape.rank if isinstance(spec, tf.TensorSpec) else None


def sliced_unbatched(dataset):
    """True when ``dataset`` yields single examples sliced off an array
    (``from_tensor_slices`` or ``unbatch`` with no batching after it).

    Its element spec cannot tell: ``from_tensor_slices(x)`` of x [400, 8, 8]
    yields (8, 8), as ``.batch(8, drop_remainder=True)`` of 8-vectors does.
    So the pipeline's transformations are walked back from its output through
    those that keep the rank (map, shuffle, prefetch, ...): a batching one
    first means batched, a slicing one unbatched; anything else (a rank
    change, several inputs, a file source) is not judged.
    """
    while True:
        name = type(dataset).__name__
        if "Unbatch" in name or name in ("_TensorSliceDataset", "_SparseTensorSliceDataset"):
            return True
        if "Batch" in name:
            return False
        inputs = dataset._inputs() if hasattr(dataset, "_inputs") else []  # tf.data's own
        if len(inputs) != 1 or _element_rank(inputs[0]) != _element_rank(dataset):
            return False
        dataset = inputs[0]


def check_batched(dataset, data_shape):
    """Raise a ValueError when ``dataset`` yields single examples rather than
    batches: elements of rank < 2 or of the model's example rank, or, for a
    model whose example shape is not known yet, elements sliced off an array
    and never batched (``sliced_unbatched``)."""
    rank = _element_rank(dataset)
    if rank is None:
        return
    shape = tuple(_examples_spec(dataset).shape)
    if rank < 2 or (data_shape is not None and rank == len(data_shape)):
        fix = "Call dataset.batch(n)."
    elif data_shape is None and sliced_unbatched(dataset):
        fix = (
            "Call dataset.batch(n); if each element already is a batch, pass the shape "
            f"of one example as SparseVAE(data_shape={shape[1:]})."
        )
    else:
        return
    raise ValueError(
        f"The dataset yields elements of shape {shape}, which looks unbatched: each "
        f"element must be a batch [batch, *example shape]. {fix}"
    )


def checked_dataset(dataset, likelihood, data_shape):
    """``dataset`` with the likelihood's data checks mapped over it, after
    refusing elements the model cannot use (labels, unbatched, empty)."""
    spec = dataset.element_spec
    if isinstance(spec, (tuple, list)):
        if len(spec) != 1:
            raise ValueError(f"The dataset yields tuples of {len(spec)} elements. {UNSUPERVISED}")
        spec = spec[0]
    if not isinstance(spec, tf.TensorSpec):
        raise ValueError(f"The dataset must yield tensors of examples, got elements {spec}.")
    shape = spec.shape
    check_batched(dataset, data_shape)
    if int(dataset.cardinality()) == 0:
        raise ValueError("The dataset is empty: it yields no batches.")
    if shape.rank is not None:
        check_example_shape(shape[1:], data_shape)
    return dataset.map(
        lambda *element: likelihood.check_tensor(element[0]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def checked_arrays(x, sample_weight, likelihood, data_shape):
    """(x, placeholder target, weights) for Keras' loop after the data checks.

    Keras drops ``sample_weight`` when the target is None, so per-example
    weights travel with a placeholder target of zeros that the model ignores.
    """
    x = likelihood.check_array(x)
    check_example_shape(x.shape[1:], data_shape)
    if sample_weight is None:
        return x, None, None
    weights = np.asarray(sample_weight, dtype=np.float32)
    if weights.shape != (len(x),):
        raise ValueError(
            f"sample_weight must hold one weight per example, shape ({len(x)},), got shape "
            f"{weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("sample_weight must be finite and >= 0, with at least one weight > 0.")
    return x, np.zeros(len(x), np.float32), weights


def checked_data(x, sample_weight, likelihood, data_shape):
    """The (x, target, weights) that ``fit`` / ``evaluate`` hand to Keras."""
    if isinstance(x, tf.data.Dataset):
        if sample_weight is not None:
            raise ValueError(
                "sample_weight= works with arrays; a tf.data.Dataset cannot carry per-example "
                "weights into a SparseVAE. Pass arrays instead."
            )
        return checked_dataset(x, likelihood, data_shape), None, None
    if isinstance(x, (tuple, list, dict)):
        raise ValueError(
            f"Pass the examples as one array or dataset, not a {type(x).__name__}. {UNSUPERVISED}"
        )
    return checked_arrays(np.asarray(x), sample_weight, likelihood, data_shape)


def checked_validation_data(data, likelihood, data_shape):
    """``validation_data`` for Keras: an array, ``(x_val, None, weights)`` or a
    dataset, checked like the training data."""
    if data is None or isinstance(data, tf.data.Dataset):
        return None if data is None else checked_dataset(data, likelihood, data_shape)
    sample_weight = None
    if isinstance(data, (tuple, list)):
        if len(data) == 3 and data[1] is None:
            data, sample_weight = data[0], data[2]
        elif len(data) == 1:
            data = data[0]
        else:
            raise ValueError(f"validation_data: {UNSUPERVISED}")
    x, target, weights = checked_arrays(np.asarray(data), sample_weight, likelihood, data_shape)
    return x if weights is None else (x, target, weights)
