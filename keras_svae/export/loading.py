"""What an export reproduces: the trained model, its prior's parameters and
how decoder outputs become data (likelihood mean, inverse preprocessing)."""

import math
from pathlib import Path

import numpy as np

from keras_svae.export.layout import QUANTIZATIONS, ExportError


def load_sparse_vae(path):
    """Load a ``.keras`` file and check it holds a built SparseVAE.

    Args:
        path: the ``.keras`` file.

    Returns:
        The loaded ``SparseVAE``.

    Raises:
        ExportError: the file is missing, not a readable Keras model, or not a
            SparseVAE.
    """
    import keras

    path = Path(path)
    if not path.exists():
        raise ExportError(f"Model file not found: {path}")
    if path.is_dir():
        hint = (
            f" (did you mean {path / 'model.keras'}?)" if (path / "model.keras").is_file() else ""
        )
        raise ExportError(f"{path} is a folder, not a .keras model file{hint}.")
    if path.suffix != ".keras":
        raise ExportError(
            f"{path} is not a .keras file: export needs a model saved with "
            "model.save('name.keras')."
        )
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any failure means "cannot load"
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if "safe_mode" in detail:
            raise ExportError(
                f"Refused to load {path}: it holds Python code (e.g. a Lambda layer), which "
                "Keras' safe mode does not run, since loading it could execute anything. "
                "Rebuild the model without Lambda layers (a registered Layer subclass "
                "saves as configuration, not code)."
            ) from error
        raise ExportError(
            f"Cannot load {path} as a Keras model: the file is corrupt or not a "
            f"Keras 3 .keras archive ({type(error).__name__}: {detail})"
        ) from error
    return check_model(model, path)


def check_model(model, source="the model"):
    """Return ``model`` if it is a built SparseVAE, else raise an ExportError."""
    from keras_svae.model import SparseVAE

    if not isinstance(model, SparseVAE):
        raise ExportError(
            f"{source} holds a {type(model).__name__}, not a keras_svae.SparseVAE: "
            "only SparseVAE decoders can be exported."
        )
    if model.decoder is None or model.data_shape is None:
        raise ExportError(
            f"{source} is not built (its data shape is unknown): build it with "
            "data_shape=... or train it before exporting."
        )
    return model


def check_quantize(quantize):
    """The chosen quantizations as a tuple without repeats; unknown ones raise."""
    if quantize is None:
        return ()
    if isinstance(quantize, str):
        quantize = (quantize,)
    chosen = []
    for q in quantize:
        if q not in QUANTIZATIONS:
            raise ExportError(
                f"Unknown quantization {q!r}. Valid choices: {', '.join(map(repr, QUANTIZATIONS))}."
            )
        if q not in chosen:
            chosen.append(q)
    return tuple(chosen)


def prior_parameters(model):
    """The prior as ``{"family", "loc", "scale"}`` with one loc and scale per latent.

    Named priors give loc 0 and ``prior_scale``; a custom factory works when it
    returns a Normal, Laplace, Cauchy, StudentT, SpikeSlab or Horseshoe
    (wrapped in ``tfd.Independent`` or not). Student-t priors add ``df`` and
    spike-and-slab priors ``slab_probability``, one value for all latents;
    a thresholded model adds its ``threshold`` per latent, as its decoder
    reads soft-thresholded draws (``SparseVAE.sample``).

    Args:
        model: a built SparseVAE.

    Returns:
        The dict export.json records as ``prior``, JSON-ready (lists of floats).

    Raises:
        ExportError: for a custom prior of another family, or parameters that
            differ between latents (df, slab probability) or are not finite.
    """
    import tensorflow as tf
    import tensorflow_probability as tfp

    from keras_svae.distributions import inner_distribution
    from keras_svae.spike_slab import SpikeSlab

    tfd = tfp.distributions
    families = {
        tfd.Normal: "normal",
        tfd.Laplace: "laplace",
        tfd.Cauchy: "cauchy",
        tfd.StudentT: "student_t",
        SpikeSlab: "spike_slab",
        tfd.Horseshoe: "horseshoe",
    }
    distribution = inner_distribution(model.prior)
    # isinstance: keras_svae's own Horseshoe subclasses TFP's.
    family = next((name for cls, name in families.items() if isinstance(distribution, cls)), None)
    if family is None:
        raise ExportError(
            f"The model's prior is a {type(model.prior).__name__} over "
            f"{type(distribution).__name__}; export can sample only Normal, Laplace, "
            "Cauchy, StudentT, SpikeSlab and Horseshoe priors (with any location and "
            "scale per latent)."
        )
    shape = [model.latent_dim]
    extra = {}
    for key, value in (
        ("df", getattr(distribution, "df", None)),
        ("slab_probability", getattr(distribution, "slab_probs_parameter", lambda: None)()),
    ):
        if value is not None:
            values = tf.broadcast_to(tf.cast(value, tf.float64), shape).numpy()
            if not np.all(values == values[0]):
                raise ExportError(f"Export needs one {key} for all latents, got {values}.")
            extra[key] = float(values[0])
    loc = tf.broadcast_to(tf.cast(getattr(distribution, "loc", 0.0), tf.float64), shape).numpy()
    scale = tf.broadcast_to(tf.cast(distribution.scale, tf.float64), shape).numpy()
    if not (np.all(np.isfinite(loc)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ExportError("The prior's location and scale must be finite, scale > 0.")
    if model.threshold is not None:
        extra["threshold"] = [float(v) for v in np.asarray(model.thresholds(), np.float64)]
    spec = model.prior_spec if isinstance(model.prior_spec, str) else "custom"
    return {
        "family": family,
        "loc": [float(v) for v in loc],
        "scale": [float(v) for v in scale],
        "spec": spec,
        "prior_scale": float(model.prior_scale),
        **extra,
    }


def likelihood_mean_name(model):
    """How the likelihood turns decoder outputs into data, for export.json."""
    name = type(model.likelihood).__name__
    return {"BernoulliLikelihood": "sigmoid", "GaussianLikelihood": "identity"}.get(
        name, f"{name}.mean"
    )


def postprocessing(model):
    """How decoder outputs become data: a dict (JSON-ready except for the arrays).

    Keys: ``decoder_shape`` (what the decoder emits), ``likelihood_mean``,
    ``whitening`` (summary or None), ``dewhitening`` / ``mean`` (float64 arrays
    or None), ``scale`` (float or None), ``output_shape`` (the data's shape) and
    ``value_range`` ([0, 1] for a Bernoulli mean with nothing undone, else None).

    Args:
        model: a built SparseVAE; its ``metadata`` says what the data pipeline did.

    Returns:
        The dict above.
    """
    from keras_svae.data.whitening import Whitening

    metadata = dict(model.metadata or {})
    decoder_shape = tuple(int(d) for d in model.data_shape)
    size = math.prod(decoder_shape)
    result = {
        "decoder_shape": list(decoder_shape),
        "likelihood_mean": likelihood_mean_name(model),
        "whitening": None,
        "dewhitening": None,
        "mean": None,
        "scale": None,
    }
    flat = size
    config = metadata.get("whitening")
    if config is not None:
        try:
            whitening = Whitening.from_config(config)
        except Exception as error:  # noqa: BLE001
            raise ExportError(
                f"model.metadata['whitening'] is not a valid Whitening config: {error}"
            ) from error
        if not whitening.is_fitted:
            raise ExportError(
                "model.metadata['whitening'] holds an unfitted Whitening: it cannot "
                "be undone. Save the fitted whitening's get_config()."
            )
        if whitening.output_dim != size:
            raise ExportError(
                f"model.metadata['whitening'] maps {whitening.input_dim} values to "
                f"{whitening.output_dim}, but the decoder emits {size} values "
                f"(shape {decoder_shape})."
            )
        result["dewhitening"] = np.asarray(whitening.dewhitening_matrix, np.float64)
        result["mean"] = np.asarray(whitening.mean_, np.float64)
        result["whitening"] = {
            "method": whitening.method,
            "n_components": whitening.n_components,
            "epsilon": whitening.epsilon,
            "input_dim": whitening.input_dim,
            "output_dim": whitening.output_dim,
            "inverse": "x = y @ dewhitening_matrix + mean (in the graph)",
        }
        flat = whitening.input_dim
    scale = metadata.get("scale")
    if scale is not None:
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ExportError(f"model.metadata['scale'] must be > 0, got {scale!r}.")
        result["scale"] = scale
    patch_shape = metadata.get("patch_shape")
    if patch_shape is None and isinstance(metadata.get("preprocessing"), dict):
        patch_shape = metadata["preprocessing"].get("patch_shape")
    if patch_shape is not None and math.prod(patch_shape) == flat:
        output_shape = tuple(int(d) for d in patch_shape)
    elif flat == size:
        output_shape = decoder_shape
    else:
        output_shape = (flat,)
    result["output_shape"] = list(output_shape)
    undone = result["whitening"] is not None or result["scale"] is not None
    result["value_range"] = (
        [0.0, 1.0] if result["likelihood_mean"] == "sigmoid" and not undone else None
    )
    return result


def reference_decode(model, z, post=None):
    """The Keras decoder's data for latents z: what every export must reproduce.

    ``model.decode(z)`` (decoder + likelihood mean) in Keras, then the inverse
    preprocessing in float64 numpy.

    Args:
        model: a built SparseVAE.
        z: latents [n, latent_dim].
        post: the model's ``postprocessing`` dict, computed when None.

    Returns:
        A float64 numpy array [n, *output_shape].
    """
    post = postprocessing(model) if post is None else post
    z = np.asarray(z, np.float32)
    x = np.asarray(model.decode(z), np.float64).reshape(len(z), -1)
    if post["dewhitening"] is not None:
        x = x @ post["dewhitening"] + post["mean"]
    if post["scale"] is not None:
        x = x * post["scale"]
    return x.reshape(len(z), *post["output_shape"])
