"""Checks of the arguments of ``SparseVAE`` and its methods (seeds, metadata,
latents, save paths, network names), with errors that name the fix.

``keras_svae.validation`` re-exports them beside the data checks.
"""

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_svae.files import check_output_folder
from keras_svae.names import lookup

MAX_SEED = 2**32 - 1


def check_seed(value, what="seed", allow_none=True):
    """Return ``value`` as an int seed, or raise a ValueError unless it is an
    integer in [0, 2**32 - 1] (or None when ``allow_none``).

    Every seed of the library reaches numpy's ``default_rng`` or
    ``keras.utils.set_random_seed``, which take exactly this range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        kind = "an integer or None" if allow_none else "an integer"
        raise ValueError(
            f"{what} must be {kind} in [0, 2**32 - 1], got {value!r} ({type(value).__name__}). "
            f"Pass e.g. {what}=0."
        )
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{what} must be in [0, 2**32 - 1], got {value}. Pass e.g. {what}=0.")
    return int(value)


def check_metadata(metadata):
    """Return ``metadata`` as a dict that can be saved with a model, or raise a
    ValueError: it must be None or a dict with string keys whose values JSON
    can hold (numbers, strings, lists, dicts; numpy numbers and arrays too).

    Example:
        >>> check_metadata(info.to_config())  # a DatasetInfo's description
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValueError(
            f"metadata must be a dict (saved with the model as JSON), got "
            f"{type(metadata).__name__} {metadata!r:.80}. Pass e.g. metadata=info.to_config() "
            "or metadata={'source': 'mnist'}."
        )
    bad_keys = [key for key in metadata if not isinstance(key, str)]
    if bad_keys:
        raise ValueError(f"metadata keys must be strings, got {bad_keys[0]!r}.")

    def plain(value):
        if isinstance(value, (np.generic, np.ndarray)):
            return value.tolist()
        raise TypeError(type(value).__name__)

    try:
        json.dumps(metadata, default=plain)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"metadata must hold only values JSON can save (numbers, strings, lists, dicts); "
            f"it holds a value of type {error}. Convert it first (e.g. to a list or a string)."
        ) from None
    return dict(metadata)


def check_latents(z, latent_dim):
    """Return latents ``z`` for ``decode``, or raise a ValueError unless they
    are numbers of shape (n, latent_dim), all finite.

    Symbolic tensors (inside a compiled function) are checked for their shape
    only; eager tensors and arrays for their values too.

    Example:
        >>> check_latents(np.zeros((4, 10), "float32"), 10).shape
        (4, 10)
    """
    symbolic = tf.is_tensor(z) and not tf.executing_eagerly()
    values = z if symbolic else np.asarray(z.numpy() if tf.is_tensor(z) else z)
    if not symbolic and not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise ValueError(f"z must hold numbers, got dtype {values.dtype}.")
    shape = tuple(values.shape)
    if len(shape) != 2 or shape[-1] != latent_dim:
        raise ValueError(f"z must have shape (n, {latent_dim}), got {shape}.")
    if not symbolic:
        bad = values.size - int(np.count_nonzero(np.isfinite(values)))
        if bad:
            raise ValueError(
                f"z contains {bad} NaN or Inf values: decode needs finite latents. Check "
                "where z came from (e.g. np.nan_to_num, or drop those rows)."
            )
    return z


def check_save_path(filepath, weights=False):
    """Return ``filepath`` as a Path if ``model.save`` (or, with ``weights``,
    ``save_weights``) can write it, or raise: a ValueError for a name Keras
    cannot save to (``.keras``; ``.weights.h5`` for weights), a
    NotADirectoryError or PermissionError (from ``files.check_output_folder``)
    for a folder that cannot hold it.

    Example:
        >>> check_save_path("runs/model.keras")
        PosixPath('runs/model.keras')
    """
    if not isinstance(filepath, (str, os.PathLike)):
        raise ValueError(f"The path must be a string or a Path, got {type(filepath).__name__}.")
    path = Path(filepath)
    suffix, what = (".weights.h5", "save_weights") if weights else (".keras", "save")
    if not path.name.endswith(suffix) or path.name == suffix:
        raise ValueError(
            f"model.{what} needs a file name ending in {suffix}, got {str(path)!r}: e.g. "
            f"{path.name.split('.')[0] or 'model'}{suffix}"
            + ("" if weights else " (the legacy .h5 format cannot hold a SparseVAE).")
        )
    check_output_folder(path.parent, f"The folder of {path}")
    return path


def check_network(spec, choices, what):
    """Return a network ``spec`` (a name among ``choices``, canonical case, or
    a Keras layer), or raise a ValueError naming the valid choices. Checks a
    name when the model is made, not only when it is built for the data.

    Example:
        >>> check_network("Linear", ("mlp", "linear", "conv"), "decoder")
        'linear'
    """
    if isinstance(spec, str):
        return lookup(spec, choices, what)
    if isinstance(spec, keras.layers.Layer):
        return spec
    raise ValueError(
        f"{what} must be one of {', '.join(map(repr, choices))} or a Keras layer, got "
        f"{spec!r} ({type(spec).__name__})."
    )


def check_threshold(threshold, threshold_prior, posterior_family, objective):
    """Return (threshold, threshold_prior) checked: threshold None, a number
    >= 0 or "learned"; the Gamma prior a (concentration, rate) pair > 0.

    Thresholds give exact zeros only for the Normal and Laplace posteriors,
    and a thresholded posterior has no density, so the IWAE objective (which
    needs log q of its draws) is refused with it.
    """
    pair = tuple(threshold_prior) if isinstance(threshold_prior, (list, tuple)) else ()
    if len(pair) != 2 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(
            "threshold_prior must be a (concentration, rate) pair of positive numbers (the "
            f"Gamma prior of learned thresholds), got {threshold_prior!r}."
        )
    pair = tuple(float(v) for v in pair)
    if threshold is None:
        return None, pair
    if isinstance(threshold, str) and threshold.lower() == "learned":
        threshold = "learned"
    elif isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ValueError(f'threshold must be None, a number >= 0 or "learned", got {threshold!r}.')
    elif not (threshold >= 0 and threshold < float("inf")):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}.")
    else:
        threshold = float(threshold)
    if posterior_family not in ("normal", "laplace"):
        raise ValueError(
            f"threshold= gives exact zeros for the 'normal' and 'laplace' posteriors; this "
            f"model's posterior is {posterior_family!r}. Use posterior='laplace' (or "
            "'normal'), or the 'spike_slab' posterior without a threshold."
        )
    if objective == "iwae":
        raise ValueError(
            "objective='iwae' needs log q of each draw, which a thresholded posterior (a "
            "point mass at 0) does not have. Use objective='elbo' with threshold=."
        )
    return threshold, pair


def check_unit_norm(unit_norm_decoder, decoder):
    """Return ``unit_norm_decoder`` as a bool, refusing it for a decoder other
    than the named "linear" one (whose columns are the atoms it keeps at norm 1)."""
    if not isinstance(unit_norm_decoder, bool):
        raise ValueError(f"unit_norm_decoder must be True or False, got {unit_norm_decoder!r}.")
    if unit_norm_decoder and decoder != "linear":
        raise ValueError(
            "unit_norm_decoder=True keeps the columns of the linear decoder (the atoms of "
            f"sparse coding) at unit norm; this model's decoder is {decoder!r}. "
            'Use decoder="linear".'
        )
    return unit_norm_decoder
