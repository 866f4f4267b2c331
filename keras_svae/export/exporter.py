"""``export_decoder``: a trained SparseVAE's decoder as one export folder.

The folder is assembled under a hidden temporary name beside ``out_dir``
(``keras_svae.files.atomic_path``) and renamed into place at the very end, so
an interrupted or failed export leaves no partial output folder; leftovers of
a killed export to the same place are removed by the next one.
"""

import datetime
import hashlib
import numbers
import os
from pathlib import Path

from keras_svae.export.graph import build_module, signature_specs, write_saved_model
from keras_svae.export.layout import (
    EXPORT_JSON,
    FORMAT_VERSION,
    PARITY_SAMPLES,
    PARITY_SEED,
    SAVED_MODEL_DIR,
    TFLITE_FILES,
    ExportError,
    ParityError,
)
from keras_svae.export.loading import (
    check_model,
    check_quantize,
    load_sparse_vae,
    postprocessing,
    prior_parameters,
)
from keras_svae.export.parity import measure_parity
from keras_svae.export.tflite import (
    VARIABLE_OPS,
    check_builtin_only,
    convert_tflite,
    tensor_specs,
    tflite_interpreter,
    tflite_ops,
)
from keras_svae.files import atomic_path, remove_partials, write_json


def sha256(path):
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_table(folder):
    """Every file in ``folder`` but export.json, with its size and SHA-256."""
    folder = Path(folder)
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == EXPORT_JSON:
            continue
        rows.append({"path": relative, "bytes": path.stat().st_size, "sha256": sha256(path)})
    return rows


def check_target(out_dir, overwrite, model_path=None):
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


def export_decoder(
    model_or_path,
    out_dir,
    quantize=(),
    overwrite=False,
    *,
    parity_samples=PARITY_SAMPLES,
    parity_seed=PARITY_SEED,
    progress=None,
):
    """Export a SparseVAE's decoder to ``out_dir`` and return export.json's dict.

    Args:
        model_or_path: a built ``SparseVAE`` or the path of its ``.keras`` file.
        out_dir: the folder to create (it must not exist unless ``overwrite``).
        quantize: any of "float16", "dynamic": extra, smaller TFLite files.
        overwrite: replace an existing ``out_dir`` (only once the new export is
            complete).
        parity_samples: how many prior draws the parity check decodes.
        parity_seed: the seed of those draws.
        progress: called with a short description before each step.

    Returns:
        The dict written to ``out_dir/export.json``.

    Raises:
        ExportError: bad model, bad output path, conversion failure, or Flex /
            custom ops in a TFLite file.
        ParityError: an exported file differs from the Keras decoder by more
            than its bound (see ``PARITY_BOUNDS``).

    Examples:
        >>> from keras_svae import SparseVAE
        >>> model = SparseVAE(2, data_shape=(4,), encoder_units=(8,), decoder_units=(8,))
        >>> info = export_decoder(model, "exported", parity_samples=10)
        >>> info["parity"]["results"]["tflite.float32"]["ok"]
        True
    """
    import keras
    import tensorflow as tf

    import keras_svae

    step = progress or (lambda message: None)
    variants = ("float32", *check_quantize(quantize))
    if (
        isinstance(parity_samples, bool)
        or not isinstance(parity_samples, numbers.Integral)
        or parity_samples < 1
    ):
        raise ExportError(f"parity_samples must be >= 1, got {parity_samples!r}.")
    if (
        isinstance(parity_seed, bool)
        or not isinstance(parity_seed, numbers.Integral)
        or not 0 <= parity_seed < 2**32
    ):
        raise ExportError(f"parity_seed must be an integer in [0, 2**32 - 1], got {parity_seed!r}.")
    model_path = None
    if isinstance(model_or_path, (str, os.PathLike)):
        model_path = Path(model_or_path)
        if not model_path.exists():
            raise ExportError(f"Model file not found: {model_path}")
        check_target(out_dir, overwrite, model_path)  # cheap, before the load
        step(f"loading {model_path}")
        model = load_sparse_vae(model_path)
    else:
        model = check_model(model_or_path)
    prior = prior_parameters(model)
    post = postprocessing(model)
    out = check_target(out_dir, overwrite, model_path)
    remove_partials(out.parent, out.name)
    try:
        with atomic_path(out, directory=True, overwrite=overwrite) as temporary:
            step("writing saved_model/")
            module = build_module(model, prior, post)
            write_saved_model(module, temporary / SAVED_MODEL_DIR)
            saved = tf.saved_model.load(str(temporary / SAVED_MODEL_DIR))
            signatures = {
                name: signature_specs(saved.signatures[name]) for name in ("decode", "generate")
            }
            tflite = {}
            for variant in variants:
                name = TFLITE_FILES[variant]
                step(f"converting {name}")
                content = convert_tflite(temporary / SAVED_MODEL_DIR, variant)
                ops = tflite_ops(content)
                check_builtin_only(ops, name)
                unfrozen = {op["name"] for op in ops} & VARIABLE_OPS
                if unfrozen:
                    raise ExportError(
                        f"{name} reads variables at run time ({sorted(unfrozen)}) instead "
                        "of constants: the decoder's weights were not frozen."
                    )
                (temporary / name).write_bytes(content)
                runner = tflite_interpreter(temporary / name).get_signature_runner("decode")
                tflite[variant] = {
                    "path": name,
                    "signature": "decode",
                    "inputs": tensor_specs(runner.get_input_details()),
                    "outputs": tensor_specs(runner.get_output_details()),
                    "ops": sorted({op["name"] for op in ops}),
                }
            step(f"measuring parity on {parity_samples} prior draws")
            parity = measure_parity(model, temporary, variants, parity_samples, parity_seed)
            files = file_table(temporary)
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
                    "sha256": None if model_path is None else sha256(model_path),
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
                    for key in (
                        "decoder_shape",
                        "likelihood_mean",
                        "whitening",
                        "scale",
                        "output_shape",
                    )
                },
                "saved_model": {
                    "path": SAVED_MODEL_DIR,
                    "signatures": signatures,
                    "generate_sampling": "keras_svae.export.sampling (Box-Muller for the "
                    "Normal, inverse CDF otherwise) on tf.random.stateless_uniform (float64) "
                    "seeded with [seed, 0]",
                },
                "tflite": tflite,
                "files": files,
                "parity": {
                    "n_latents": int(parity_samples),
                    "seed": int(parity_seed),
                    "latents": "draws from the prior (keras_svae.export.sampling on numpy "
                    "default_rng(seed))",
                    "reference": "Keras decoder + likelihood mean, preprocessing undone in float64",
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
            write_json(temporary / EXPORT_JSON, info)
            step(f"moving into place: {out}")
            if not overwrite and (out.exists() or out.is_symlink()):
                # atomic_path would replace it: it is someone else's, keep it.
                raise ExportError(
                    f"The output folder {out} appeared during the export (another "
                    "process wrote it); it was left as it is and nothing was written. "
                    "Choose another folder, or pass overwrite=True (--overwrite)."
                )
    except (ExportError, KeyboardInterrupt):
        raise
    except OSError as error:
        raise ExportError(write_failure(out, error)) from error
    return info


def write_failure(out, error):
    """The message for an OSError met while writing the export to ``out``."""
    reason = error.strerror or str(error)
    parent = out.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return (
            f"Cannot write the export to {out}: {parent} is not a writable folder "
            f"({reason}). Choose an output path in a folder you can write to."
        )
    return f"Cannot write the export to {out} ({reason}); nothing was written."
