"""What an export folder holds: file names, variants, parity bounds, errors.

Standard library only: the numpy-only LiteRT generator reads these names too.
"""

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

# Parity bounds on the scaled difference (absolute for outputs within [-1, 1]).
PARITY_BOUNDS = {"float32": 1e-5, "float16": 1e-2, "dynamic": 1e-1}
# Which statistic of the per-latent max |difference| is held to the bound.
PARITY_STATISTIC = {"float32": "max", "float16": "p99", "dynamic": "p99"}
PARITY_SAMPLES = 1000
PARITY_SEED = 0


class ExportError(Exception):
    """A model or an output path that cannot be exported (the message says why)."""


class ParityError(ExportError):
    """An exported file's outputs differ from the Keras decoder beyond its bound."""
