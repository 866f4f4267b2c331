"""Parity: how far each exported file's outputs are from the Keras decoder.

For each latent vector, the largest absolute difference over its output values
is divided by ``max(1, largest |reference value| of that vector)``: the
*scaled difference*, which equals the absolute difference for outputs within
[-1, 1] (images in [0, 1]) and is the relative difference for larger outputs,
where float32 itself cannot resolve 1e-5. float32 files are held to the
maximum, quantized ones to the 99th percentile (``PARITY_STATISTIC``), against
``PARITY_BOUNDS``.
"""

from pathlib import Path

import numpy as np

from keras_svae.export.layout import (
    PARITY_BOUNDS,
    PARITY_SAMPLES,
    PARITY_SEED,
    PARITY_STATISTIC,
    SAVED_MODEL_DIR,
    TFLITE_FILES,
    VARIANTS,
    ParityError,
)
from keras_svae.export.loading import postprocessing, prior_parameters, reference_decode
from keras_svae.export.sampling import sample_prior
from keras_svae.export.tflite import run_tflite


def parity(name, variant, got, reference):
    """Differences between one export's outputs and the reference (see module doc)."""
    reference = np.asarray(reference, np.float64)
    got = np.asarray(got, np.float64)
    if got.shape != reference.shape:
        raise ParityError(f"{name} outputs shape {got.shape}, the Keras decoder {reference.shape}.")
    if reference.size == 0:
        raise ParityError(f"{name}: no outputs to compare.")
    n = len(reference)
    # Largest |difference| within each decoded latent vector, and the same
    # divided by max(1, largest |reference value| of that vector).
    per_latent = np.abs(got - reference).reshape(n, -1).max(axis=1)
    per_latent = np.where(np.isnan(per_latent), np.inf, per_latent)
    magnitude = np.maximum(1.0, np.abs(reference).reshape(n, -1).max(axis=1))
    scaled = per_latent / magnitude
    statistic = PARITY_STATISTIC[variant]
    checked = f"{statistic}_scaled_diff"
    result = {
        "variant": variant,
        "max_abs_diff": float(per_latent.max()),
        "p99_abs_diff": float(np.percentile(per_latent, 99)),
        "median_abs_diff": float(np.median(per_latent)),
        "reference_max_abs": float(np.abs(reference).max()),
        "max_scaled_diff": float(scaled.max()),
        "p99_scaled_diff": float(np.percentile(scaled, 99)),
        "checked": checked,
        "bound": PARITY_BOUNDS[variant],
    }
    result["ok"] = bool(result[checked] <= result["bound"])
    return result


def measure_parity(model, folder, variants=VARIANTS, n=PARITY_SAMPLES, seed=PARITY_SEED):
    """Max |difference| to the Keras decoder for each exported file in ``folder``.

    Args:
        model: the built SparseVAE that was exported.
        folder: the export folder (its saved_model/ and .tflite files).
        variants: the TFLite variants to check, where their files exist.
        n: how many prior draws to decode.
        seed: the seed of those draws.

    Returns:
        ``{"saved_model.decode": {...}, "saved_model.generate": {...},
        "tflite.<variant>": {...}}``, each with max_abs_diff, bound and ok.
    """
    import tensorflow as tf

    folder = Path(folder)
    post = postprocessing(model)
    z = sample_prior(prior_parameters(model), n, seed)
    reference = reference_decode(model, z, post)
    results = {}
    loaded = tf.saved_model.load(str(folder / SAVED_MODEL_DIR))
    decoded = loaded.signatures["decode"](z=tf.constant(z))["images"].numpy()
    results["saved_model.decode"] = parity("SavedModel decode", "float32", decoded, reference)
    generated = loaded.signatures["generate"](
        seed=tf.constant(seed, tf.int64), n=tf.constant(min(n, 256), tf.int32)
    )
    results["saved_model.generate"] = parity(
        "SavedModel generate",
        "float32",
        generated["images"].numpy(),
        reference_decode(model, generated["z"].numpy(), post),
    )
    for variant in variants:
        path = folder / TFLITE_FILES[variant]
        if path.exists():
            results[f"tflite.{variant}"] = parity(
                path.name, variant, run_tflite(path, z), reference
            )
    return results
