"""Export a trained SparseVAE's decoder as a generator: SavedModel and TFLite.

``export_decoder(model_or_path, out_dir)`` writes one folder::

    out_dir/
      saved_model/            signatures decode(z) and generate(seed, n)
      decoder.tflite          float32, for LiteRT (ai_edge_litert) on phones / MCUs
      decoder_float16.tflite  with quantize=("float16",): float16 weights
      decoder_dynamic.tflite  with quantize=("dynamic",): int8 weights (dynamic range)
      export.json             latent size, prior, shapes, preprocessing, files, parity

What every exported decoder computes, for latents z of shape [n, latent_dim]:

1. the Keras decoder's outputs (likelihood parameters), then the likelihood's
   mean (sigmoid for Bernoulli, identity for Gaussian);
2. the inverse of the data pipeline's preprocessing recorded in
   ``model.metadata`` (see below), as TF ops inside the graph;
3. a reshape to the data's own shape.

``generate(seed, n)`` (SavedModel only) draws n latents from the prior by the
inverse CDF of ``tf.random.stateless_uniform`` (deterministic for a seed, no
state) and decodes them. The TFLite files hold ``decode`` only: random ops would
need Flex ops, so on device the latents are drawn outside the graph (numpy in
``export/generate.py``) from the prior parameters in export.json.

Preprocessing read from ``model.metadata`` (all optional; the layout of
``keras_svae.data.DatasetInfo.to_config()`` works as is):

- ``"whitening"``: a fitted ``keras_svae.data.whitening.Whitening.get_config()``
  dict; decoded vectors are mapped back with ``y @ V + mean`` (V the
  whitening's ``dewhitening_matrix``);
- ``"scale"``: the number the data were divided by; decoded values are
  multiplied by it (after de-whitening, as ``DatasetInfo.undo_preprocessing``);
- ``"patch_shape"`` (or ``metadata["preprocessing"]["patch_shape"]``): the
  pixel shape of one example, used when the model worked on flat vectors.

Per-patch mean removal cannot be undone (the means are not kept), so exported
patches are mean-free.

Parity is measured at every export on ``PARITY_SAMPLES`` (1,000) latent vectors
drawn from the prior (seeded). The reference is the Keras decoder plus the
likelihood mean, with the preprocessing undone in float64 numpy; compared with
it are the SavedModel's ``decode``, the SavedModel's ``generate`` (on its own
draws) and each TFLite file. For each latent vector, the largest absolute
difference over its output values is divided by ``max(1, largest |reference
value| of that vector)``: the *scaled difference*, which equals the absolute
difference for outputs within [-1, 1] (images in [0, 1]) and is the relative
difference for larger outputs, where float32 itself cannot resolve 1e-5 (its
spacing at 600 is 6e-5, and a Cauchy prior's rare huge draws give such
outputs). The export fails (``ParityError``, nothing written) when

- float32 (SavedModel decode and generate, decoder.tflite): the maximum over
  the latents of the scaled difference exceeds 1e-5;
- float16 weights (decoder_float16.tflite): its 99th percentile exceeds 1e-2;
- dynamic-range int8 (decoder_dynamic.tflite): its 99th percentile exceeds 1e-1.

Quantized files are held to the 99th percentile because their error grows with
the latent's size: rare Cauchy draws in the thousands push 8-bit activations
(and float16 weights times huge inputs) far off, which no bound that still
catches a broken conversion could absorb. export.json reports the maximum, 99th
percentile and median of the absolute differences and the maximum and 99th
percentile of the scaled ones. Typical values for an MLP decoder with [0, 1]
outputs: float32 <= 1e-6, float16 ~1e-4, dynamic ~3e-3.

The export is written into a hidden temporary folder next to ``out_dir`` and
renamed into place at the very end, so an interrupted or failed export leaves
no partial output folder.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

QUANTIZATIONS = ("float16", "dynamic")
VARIANTS = ("float32", *QUANTIZATIONS)
TFLITE_FILES = {
    "float32": "decoder.tflite",
    "float16": "decoder_float16.tflite",
    "dynamic": "decoder_dynamic.tflite",
}
SAVED_MODEL_DIR = "saved_model"
EXPORT_JSON = "export.json"
FORMAT_VERSION = 1

#: Parity bounds on the scaled difference (absolute for outputs within [-1, 1]).
PARITY_BOUNDS = {"float32": 1e-5, "float16": 1e-2, "dynamic": 1e-1}
#: Which statistic of the per-latent max |difference| is held to the bound.
PARITY_STATISTIC = {"float32": "max", "float16": "p99", "dynamic": "p99"}
PARITY_SAMPLES = 1000
PARITY_SEED = 0

PRIOR_FAMILIES = ("normal", "laplace", "cauchy")

# TFLite ops of resource variables: a decoder's weights must be frozen constants.
_VARIABLE_OPS = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}

# u = stateless_uniform(float64) + 2**-53 lies in (0, 1): no infinite quantiles.
_HALF_ULP = 2.0**-53


class ExportError(Exception):
    """A model or an output path that cannot be exported (the message says why)."""


class ParityError(ExportError):
    """An exported file's outputs differ from the Keras decoder beyond its bound."""


# --------------------------------------------------------------------- inputs
def load_sparse_vae(path):
    """Load a ``.keras`` file and check it holds a built SparseVAE.

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
            f" (did you mean {path / 'model.keras'}?)"
            if (path / "model.keras").is_file()
            else ""
        )
        raise ExportError(f"{path} is a folder, not a .keras model file{hint}.")
    if path.suffix != ".keras":
        raise ExportError(
            f"{path} is not a .keras file: export needs a model saved with "
            "model.save('name.keras')."
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure means "cannot load"
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ExportError(
            f"Cannot load {path} as a Keras model: the file is corrupt or not a "
            f"Keras 3 .keras archive ({type(error).__name__}: {detail})"
        ) from error
    return _check_model(model, path)


def _check_model(model, source="the model"):
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


def _check_quantize(quantize):
    if quantize is None:
        return ()
    if isinstance(quantize, str):
        quantize = (quantize,)
    chosen = []
    for q in quantize:
        if q not in QUANTIZATIONS:
            raise ExportError(
                f"Unknown quantization {q!r}. Valid choices: "
                f"{', '.join(map(repr, QUANTIZATIONS))}."
            )
        if q not in chosen:
            chosen.append(q)
    return tuple(chosen)


# -------------------------------------------------------- what gets exported
def prior_parameters(model):
    """The prior as ``{"family", "loc", "scale"}`` with one loc and scale per latent.

    Named priors give loc 0 and ``prior_scale``; a custom factory works when it
    returns a Normal, Laplace or Cauchy (wrapped in ``tfd.Independent`` or not).
    """
    import tensorflow as tf
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    families = {tfd.Normal: "normal", tfd.Laplace: "laplace", tfd.Cauchy: "cauchy"}
    distribution = model.prior
    while isinstance(distribution, tfd.Independent):
        distribution = distribution.distribution
    family = families.get(type(distribution))
    if family is None:
        raise ExportError(
            f"The model's prior is a {type(model.prior).__name__} over "
            f"{type(distribution).__name__}; export can sample only Normal, Laplace "
            "and Cauchy priors (with any location and scale per latent)."
        )
    shape = [model.latent_dim]
    loc = tf.broadcast_to(tf.cast(distribution.loc, tf.float64), shape).numpy()
    scale = tf.broadcast_to(tf.cast(distribution.scale, tf.float64), shape).numpy()
    if not (np.all(np.isfinite(loc)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ExportError("The prior's location and scale must be finite, scale > 0.")
    spec = model.prior_spec if isinstance(model.prior_spec, str) else "custom"
    return {
        "family": family,
        "loc": [float(v) for v in loc],
        "scale": [float(v) for v in scale],
        "spec": spec,
        "prior_scale": float(model.prior_scale),
    }


def _likelihood_mean_name(model):
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
    """
    from keras_svae.data.whitening import Whitening

    metadata = dict(model.metadata or {})
    decoder_shape = tuple(int(d) for d in model.data_shape)
    size = math.prod(decoder_shape)
    result = {
        "decoder_shape": list(decoder_shape),
        "likelihood_mean": _likelihood_mean_name(model),
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
    preprocessing in float64 numpy. Returns float64 of shape [n, *output_shape].
    """
    post = postprocessing(model) if post is None else post
    z = np.asarray(z, np.float32)
    x = np.asarray(model.decode(z), np.float64).reshape(len(z), -1)
    if post["dewhitening"] is not None:
        x = x @ post["dewhitening"] + post["mean"]
    if post["scale"] is not None:
        x = x * post["scale"]
    return x.reshape(len(z), *post["output_shape"])


def sample_prior(prior, n, seed=PARITY_SEED):
    """n latents [n, latent_dim] float32 from ``prior_parameters``'s dict, numpy only."""
    rng = np.random.default_rng(seed)
    loc = np.asarray(prior["loc"], np.float64)
    scale = np.asarray(prior["scale"], np.float64)
    shape = (int(n), len(loc))
    family = prior["family"]
    if family == "normal":
        standard = rng.standard_normal(shape)
    elif family == "laplace":
        standard = rng.laplace(0.0, 1.0, shape)
    elif family == "cauchy":
        standard = rng.standard_cauchy(shape)
    else:
        raise ExportError(f"Unknown prior family {family!r}.")
    return (loc + scale * standard).astype(np.float32)


# ------------------------------------------------------------ the TF module
def _build_module(model, prior, post):
    """A tf.Module with tf.functions decode(z) and generate(seed, n)."""
    import tensorflow as tf

    decoder, likelihood = model.decoder, model.likelihood
    latent_dim = model.latent_dim
    output_shape = list(post["output_shape"])
    dewhitening = (
        None if post["dewhitening"] is None
        else tf.constant(post["dewhitening"], tf.float32)
    )
    white_mean = None if post["mean"] is None else tf.constant(post["mean"], tf.float32)
    scale = post["scale"]
    loc_t = tf.constant(prior["loc"], tf.float64)
    scale_t = tf.constant(prior["scale"], tf.float64)
    family = prior["family"]

    def decode(z):
        x = likelihood.mean(decoder(z, training=False))
        x = tf.cast(x, tf.float32)
        if dewhitening is not None or scale is not None or list(x.shape[1:]) != output_shape:
            x = tf.reshape(x, [-1, math.prod(post["decoder_shape"])])
            if dewhitening is not None:
                x = tf.matmul(x, dewhitening) + white_mean
            if scale is not None:
                x = x * tf.constant(scale, tf.float32)
            x = tf.reshape(x, [-1, *output_shape])
        return {"images": tf.identity(x, name="images")}

    def quantile(u):
        """Inverse CDF of the standard family at u in (0, 1), float64."""
        if family == "normal":
            return tf.math.ndtri(u)
        if family == "laplace":
            p = u - 0.5
            return -tf.sign(p) * tf.math.log1p(-2.0 * tf.abs(p))
        return tf.tan(math.pi * (u - 0.5))

    def generate(seed, n):
        check = tf.debugging.assert_non_negative(n, message="generate: n must be >= 0")
        with tf.control_dependencies([check]):
            key = tf.stack([seed, tf.zeros_like(seed)])
            u = tf.random.stateless_uniform(
                tf.stack([n, latent_dim]), seed=key, dtype=tf.float64
            ) + _HALF_ULP
        z = tf.cast(loc_t + scale_t * quantile(u), tf.float32)
        return {"images": decode(z)["images"], "z": tf.identity(z, name="z")}

    module = tf.Module(name="sparse_vae_decoder")
    module.decode = tf.function(
        decode,
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
        autograph=False,
    )
    module.generate = tf.function(
        generate,
        input_signature=[
            tf.TensorSpec([], tf.int64, name="seed"),
            tf.TensorSpec([], tf.int32, name="n"),
        ],
        autograph=False,
    )
    # Track the tf.Variables the traced functions capture (as
    # keras.export.ExportArchive does), not the Keras objects: loading then
    # needs neither Keras nor keras_svae, and the TFLite converter sees plain
    # read-only variables that it freezes into constants.
    captured = {}
    for function in (module.decode, module.generate):
        for variable in function.get_concrete_function().variables:
            captured.setdefault(id(variable), variable)
    module.captured_variables = list(captured.values())
    return module


def _write_saved_model(module, path):
    import tensorflow as tf

    signatures = {
        "decode": module.decode.get_concrete_function(),
        "generate": module.generate.get_concrete_function(),
    }
    tf.saved_model.save(module, str(path), signatures=signatures)


def _convert_tflite(saved_model, variant):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model), signature_keys=["decode"]
    )
    # Builtin ops only: conversion fails rather than falling back to Flex ops.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant in QUANTIZATIONS:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as error:  # noqa: BLE001
        raise ExportError(
            f"TFLite conversion ({variant}) failed: {type(error).__name__}: {error}"
        ) from error


def tflite_ops(path_or_bytes):
    """The operators of a .tflite flatbuffer: a list of ``{"name", "custom_code"}``.

    Read from the file's operator-code table (what the interpreter must resolve),
    one entry per distinct operator. Flex (TF fallback) ops are custom ops whose
    custom code starts with "Flex".
    """
    from ai_edge_litert import schema_py_generated as schema

    data = (
        path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray))
        else Path(path_or_bytes).read_bytes()
    )
    names = {
        value: key for key, value in vars(schema.BuiltinOperator).items()
        if not key.startswith("_")
    }
    tree = schema.Model.GetRootAs(data, 0)
    ops = []
    for i in range(tree.OperatorCodesLength()):
        code = tree.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        ops.append({
            "name": names.get(builtin, str(builtin)),
            "custom_code": custom.decode() if custom else None,
        })
    return ops


def check_builtin_only(ops, what="the TFLite model"):
    """Raise ExportError if ``ops`` (from ``tflite_ops``) has Flex or custom ops."""
    bad = [
        op["custom_code"] or op["name"] for op in ops
        if op["name"] == "CUSTOM" or op["custom_code"] or op["name"].startswith("Flex")
    ]
    if bad:
        raise ExportError(
            f"{what} contains Flex or custom ops {bad}: it would not run on a plain "
            "LiteRT runtime."
        )


def _tflite_interpreter(path, num_threads=None):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:  # pragma: no cover - listed in requirements
        raise ExportError(
            "ai_edge_litert is needed to check TFLite files: pip install ai-edge-litert"
        ) from error
    return Interpreter(model_path=str(path), num_threads=num_threads)


def run_tflite(path, z):
    """Decode latents z [n, latent_dim] with a .tflite file's ``decode`` signature."""
    interpreter = _tflite_interpreter(path)
    runner = interpreter.get_signature_runner("decode")
    images = runner(z=np.ascontiguousarray(z, np.float32))["images"]
    # Copy while the interpreter lives: the runner's outputs may alias its buffers.
    return np.array(images, copy=True)


def _tensor_specs(details):
    return {
        name: {
            "shape": [None if d < 0 else int(d) for d in detail["shape_signature"]],
            "dtype": np.dtype(detail["dtype"]).name,
        }
        for name, detail in details.items()
    }


def _signature_specs(function):
    def spec(t):
        return {"shape": t.shape.as_list(), "dtype": t.dtype.name}

    inputs = function.structured_input_signature[1]
    outputs = function.structured_outputs
    return {
        "inputs": {k: spec(v) for k, v in sorted(inputs.items())},
        "outputs": {k: spec(v) for k, v in sorted(outputs.items())},
    }


# ------------------------------------------------------------------- parity
def _parity(name, variant, got, reference):
    """Differences between one export's outputs and the reference (see module doc)."""
    reference = np.asarray(reference, np.float64)
    got = np.asarray(got, np.float64)
    if got.shape != reference.shape:
        raise ParityError(
            f"{name} outputs shape {got.shape}, the Keras decoder {reference.shape}."
        )
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

    Returns ``{"saved_model.decode": {...}, "saved_model.generate": {...},
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
    results["saved_model.decode"] = _parity("SavedModel decode", "float32", decoded, reference)
    generated = loaded.signatures["generate"](
        seed=tf.constant(seed, tf.int64), n=tf.constant(min(n, 256), tf.int32)
    )
    results["saved_model.generate"] = _parity(
        "SavedModel generate", "float32", generated["images"].numpy(),
        reference_decode(model, generated["z"].numpy(), post),
    )
    for variant in variants:
        path = folder / TFLITE_FILES[variant]
        if path.exists():
            results[f"tflite.{variant}"] = _parity(
                path.name, variant, run_tflite(path, z), reference
            )
    return results


# -------------------------------------------------------------------- files
def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_table(folder):
    folder = Path(folder)
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == EXPORT_JSON:
            continue
        rows.append({"path": relative, "bytes": path.stat().st_size, "sha256": _sha256(path)})
    return rows


def _check_target(out_dir, overwrite, model_path=None):
    """Refuse an output path that exists (unless ``overwrite``) or holds the model."""
    out = Path(out_dir).expanduser().absolute()
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise ExportError(f"The output path {out} exists and is not a folder.")
        if not overwrite:
            raise ExportError(
                f"The output folder {out} already exists. Choose another folder, or "
                "pass overwrite=True (--overwrite) to replace it."
            )
        if model_path is not None and Path(model_path).resolve().is_relative_to(out.resolve()):
            raise ExportError(
                f"The output folder {out} contains the model being exported "
                f"({model_path}); overwriting it would delete the model. Choose another "
                "folder."
            )
    return out


def _prepare_target(out_dir, overwrite, model_path=None):
    """Check the output folder; create its parent; return (target, temporary)."""
    out = _check_target(out_dir, overwrite, model_path)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        temporary.chmod(0o755)
    except OSError as error:
        raise ExportError(
            f"Cannot write the export to {out}: {parent} is not a writable folder "
            f"({error.strerror or error})."
        ) from error
    return out, temporary


def _move_into_place(temporary, out, overwrite):
    """Rename the finished temporary folder to ``out`` (replacing it if allowed)."""
    old = None
    if out.exists():
        if not overwrite:  # created by someone else while we worked
            raise ExportError(f"The output folder {out} appeared during the export.")
        old = out.with_name(f".{out.name}.old-{os.getpid()}-{id(temporary):x}")
        os.replace(out, old)
    try:
        os.replace(temporary, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(value, path):
    Path(path).write_text(json.dumps(value, indent=2) + "\n")


# ------------------------------------------------------------------- export
def export_decoder(
    model_or_path,
    out_dir,
    quantize: Iterable[str] | str = (),
    overwrite: bool = False,
    *,
    parity_samples: int = PARITY_SAMPLES,
    parity_seed: int = PARITY_SEED,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Export a SparseVAE's decoder to ``out_dir`` and return export.json's dict.

    Args:
        model_or_path: a built ``SparseVAE`` or the path of its ``.keras`` file.
        out_dir: the folder to create (it must not exist unless ``overwrite``).
        quantize: any of "float16", "dynamic": extra, smaller TFLite files.
        overwrite: replace an existing ``out_dir`` (only once the new export is
            complete).
        parity_samples, parity_seed: the prior draws the parity check uses.
        progress: called with a short description before each step.

    Returns:
        The dict written to ``out_dir/export.json``.

    Raises:
        ExportError: bad model, bad output path, conversion failure, or Flex /
            custom ops in a TFLite file.
        ParityError: an exported file differs from the Keras decoder by more
            than its bound (see ``PARITY_BOUNDS``).

    Example:
        >>> info = export_decoder("runs/x/model.keras", "exported/x",
        ...                       quantize=("float16", "dynamic"))
        >>> info["parity"]["results"]["tflite.float32"]["max_abs_diff"]
    """
    import keras
    import tensorflow as tf

    import keras_svae

    step = progress or (lambda message: None)
    variants = ("float32", *_check_quantize(quantize))
    if isinstance(parity_samples, bool) or int(parity_samples) < 1:
        raise ExportError(f"parity_samples must be >= 1, got {parity_samples!r}.")
    model_path = None
    if isinstance(model_or_path, (str, os.PathLike)):
        model_path = Path(model_or_path)
        if not model_path.exists():
            raise ExportError(f"Model file not found: {model_path}")
        _check_target(out_dir, overwrite, model_path)  # cheap, before the load
        step(f"loading {model_path}")
        model = load_sparse_vae(model_path)
    else:
        model = _check_model(model_or_path)
    prior = prior_parameters(model)
    post = postprocessing(model)
    out, temporary = _prepare_target(out_dir, overwrite, model_path)
    try:
        step("writing saved_model/")
        module = _build_module(model, prior, post)
        _write_saved_model(module, temporary / SAVED_MODEL_DIR)
        saved = tf.saved_model.load(str(temporary / SAVED_MODEL_DIR))
        signatures = {
            name: _signature_specs(saved.signatures[name]) for name in ("decode", "generate")
        }
        tflite = {}
        for variant in variants:
            name = TFLITE_FILES[variant]
            step(f"converting {name}")
            content = _convert_tflite(temporary / SAVED_MODEL_DIR, variant)
            ops = tflite_ops(content)
            check_builtin_only(ops, name)
            unfrozen = {op["name"] for op in ops} & _VARIABLE_OPS
            if unfrozen:
                raise ExportError(
                    f"{name} reads variables at run time ({sorted(unfrozen)}) instead "
                    "of constants: the decoder's weights were not frozen."
                )
            (temporary / name).write_bytes(content)
            runner = _tflite_interpreter(temporary / name).get_signature_runner("decode")
            tflite[variant] = {
                "path": name,
                "signature": "decode",
                "inputs": _tensor_specs(runner.get_input_details()),
                "outputs": _tensor_specs(runner.get_output_details()),
                "ops": sorted({op["name"] for op in ops}),
            }
        step(f"measuring parity on {parity_samples} prior draws")
        parity = measure_parity(model, temporary, variants, parity_samples, parity_seed)
        files = _file_table(temporary)
        sizes = {row["path"]: row["bytes"] for row in files}
        for variant, entry in tflite.items():
            entry["bytes"] = sizes[entry["path"]]
            entry["size_vs_float32"] = entry["bytes"] / sizes[TFLITE_FILES["float32"]]
            if variant != "float32" and entry["size_vs_float32"] > 0.999:
                entry["note"] = (
                    "not smaller than float32: no weight tensor reached the TFLite "
                    "converter's size threshold for quantization (1,024 elements)"
                )
        info = {
            "format": "keras_svae.export",
            "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "versions": {
                "keras_svae": keras_svae.__version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
            "source_model": {
                "path": None if model_path is None else str(model_path),
                "sha256": None if model_path is None else _sha256(model_path),
                "class": type(model).__name__,
                "name": model.name,
            },
            "latent_dim": model.latent_dim,
            "prior": prior,
            "likelihood": type(model.likelihood).__name__,
            "input": {"name": "z", "shape": [None, model.latent_dim], "dtype": "float32"},
            "output": {
                "name": "images",
                "shape": [None, *post["output_shape"]],
                "dtype": "float32",
                "value_range": post["value_range"],
            },
            "preprocessing": {
                key: post[key]
                for key in ("decoder_shape", "likelihood_mean", "whitening", "scale",
                            "output_shape")
            },
            "saved_model": {"path": SAVED_MODEL_DIR, "signatures": signatures,
                            "generate_sampling": "inverse CDF of tf.random.stateless_uniform "
                                                 "(float64) seeded with [seed, 0]"},
            "tflite": tflite,
            "files": files,
            "parity": {
                "n_latents": int(parity_samples),
                "seed": int(parity_seed),
                "latents": "draws from the prior (numpy default_rng(seed))",
                "reference": "Keras decoder + likelihood mean, preprocessing undone "
                             "in float64",
                "criterion": "<checked> <= bound. Per latent vector: the largest "
                             "|difference| over its output values (abs_diff), and that "
                             "divided by max(1, its largest |reference value|) "
                             "(scaled_diff); max / p99 / median over the latents",
                "results": parity,
            },
        }
        failed = {k: v for k, v in parity.items() if not v["ok"]}
        if failed:
            details = "; ".join(
                f"{k}: {v['checked']} {v[v['checked']]:.3g} > bound {v['bound']:.3g}"
                for k, v in failed.items()
            )
            raise ParityError(f"Parity check failed ({details}). Nothing was written.")
        _write_json(info, temporary / EXPORT_JSON)
        step(f"moving into place: {out}")
        _move_into_place(temporary, out, overwrite)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return info
