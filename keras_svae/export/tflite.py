"""TFLite: conversion of the decode signature, the op check, and running a file."""

from pathlib import Path

import numpy as np

from keras_svae.export.layout import QUANTIZATIONS, ExportError

# TFLite ops of resource variables: a decoder's weights must be frozen constants.
VARIABLE_OPS = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}


def convert_tflite(saved_model, variant):
    """The .tflite bytes of the SavedModel's decode signature, built-in ops only."""
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

    Args:
        path_or_bytes: a .tflite file's path, or its contents as bytes.

    Returns:
        A list of ``{"name": builtin name, "custom_code": str or None}`` dicts.
    """
    from ai_edge_litert import schema_py_generated as schema

    data = (
        path_or_bytes
        if isinstance(path_or_bytes, (bytes, bytearray))
        else Path(path_or_bytes).read_bytes()
    )
    names = {
        value: key for key, value in vars(schema.BuiltinOperator).items() if not key.startswith("_")
    }
    tree = schema.Model.GetRootAs(data, 0)
    ops = []
    for i in range(tree.OperatorCodesLength()):
        code = tree.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        ops.append(
            {
                "name": names.get(builtin, str(builtin)),
                "custom_code": custom.decode() if custom else None,
            }
        )
    return ops


def check_builtin_only(ops, what="the TFLite model"):
    """Refuse a TFLite model that a plain LiteRT runtime could not run.

    Args:
        ops: the model's operators, as ``tflite_ops`` lists them.
        what: the model's name in the error message.

    Raises:
        ExportError: naming the Flex or custom ops, if there are any.
    """
    bad = [
        op["custom_code"] or op["name"]
        for op in ops
        if op["name"] == "CUSTOM" or op["custom_code"] or op["name"].startswith("Flex")
    ]
    if bad:
        raise ExportError(
            f"{what} contains Flex or custom ops {bad}: it would not run on a plain LiteRT runtime."
        )


def tflite_interpreter(path, num_threads=None):
    """A LiteRT interpreter for a .tflite file."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:  # pragma: no cover - listed in requirements
        raise ExportError(
            "ai_edge_litert is needed to check TFLite files: pip install ai-edge-litert"
        ) from error
    return Interpreter(model_path=str(path), num_threads=num_threads)


def run_tflite(path, z):
    """Decode latents with a .tflite file's ``decode`` signature (LiteRT).

    Args:
        path: the .tflite file.
        z: latents [n, latent_dim] (cast to float32).

    Returns:
        A float32 numpy array: the signature's ``images`` output for z.
    """
    interpreter = tflite_interpreter(path)
    runner = interpreter.get_signature_runner("decode")
    images = runner(z=np.ascontiguousarray(z, np.float32))["images"]
    # Copy while the interpreter lives: the runner's outputs may alias its buffers.
    return np.array(images, copy=True)


def tensor_specs(details):
    """Shapes and dtypes of a LiteRT signature's tensors, for export.json."""
    return {
        name: {
            "shape": [None if d < 0 else int(d) for d in detail["shape_signature"]],
            "dtype": np.dtype(detail["dtype"]).name,
        }
        for name, detail in details.items()
    }
