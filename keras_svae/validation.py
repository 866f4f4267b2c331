"""Checks of numbers and arrays that users pass in, with errors that name the fix.

Name lookups live in ``keras_svae.names``; each likelihood checks that data can
come from it (``Likelihood.check_array`` / ``check_tensor``); this module holds
the rest: scalars, numpy data, and the ``fit`` / ``evaluate`` arguments.
"""

import numpy as np

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
    bad = x.size - int(np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(
            f"The data contains {bad} NaN or Inf values. Remove or impute them before "
            "training (e.g. np.nan_to_num, or drop those examples)."
        )
    largest = float(np.max(np.abs(x))) if x.size else 0.0
    if largest > MAX_DATA_MAGNITUDE:
        raise ValueError(
            f"The data reaches |x| = {largest:.3g}, beyond {MAX_DATA_MAGNITUDE:g}, where "
            "float32 losses and gradients overflow. Standardise or rescale it "
            "(e.g. x / x.std())."
        )
    return x
