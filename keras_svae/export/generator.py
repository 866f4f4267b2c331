"""Draw samples from an exported decoder with LiteRT and numpy only.

The latents are drawn with numpy from the prior recorded in export.json (the
shared sampler, ``keras_svae.export.sampling``) and decoded by the TFLite file
through ``ai_edge_litert``. Nothing here imports TensorFlow or Keras, so a
device with numpy, ai_edge_litert and keras_svae (without TensorFlow) can run
it. The same seed gives the same samples; the draws differ from the
SavedModel's ``generate(seed, n)``, which uses TensorFlow's stateless
generator for the uniforms.

Examples:
    >>> from keras_svae import SparseVAE  # an export to read, made where TF is
    >>> from keras_svae.export import export_decoder
    >>> _ = export_decoder(SparseVAE(2, data_shape=(4,)), "exported/x", parity_samples=10)
    >>> from keras_svae.export.generator import Generator  # on the device
    >>> gen = Generator("exported/x")  # or variant="float16" / "dynamic"
    >>> images, z = gen.generate(64, seed=0)  # images: [64, *data shape], float32
    >>> images.shape, z.shape
    ((64, 4), (64, 2))
    >>> gen.decode(z[:3]).shape  # your own latents [n, latent_dim]
    (3, 4)
"""

import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from keras_svae.export.layout import EXPORT_JSON, VARIANTS
from keras_svae.export.sampling import check_family, sample_prior
from keras_svae.files import atomic_path, write_bytes


class GenerateError(Exception):
    """An export folder or argument that cannot be used (the message says why)."""


def read_export_info(folder):
    """export.json of an export folder, as a dict.

    Args:
        folder: a folder written by ``export_decoder``.

    Returns:
        The dict of its export.json (latent size, prior, shapes, files, parity).

    Raises:
        GenerateError: the folder or its export.json is missing or unreadable.
    """
    folder = Path(folder)
    path = folder / EXPORT_JSON
    if not folder.is_dir():
        raise GenerateError(f"Export folder not found: {folder}")
    if not path.is_file():
        raise GenerateError(
            f"{folder} has no export.json: is it a folder written by `python -m export`?"
        )
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise GenerateError(f"Cannot read {path}: {error}") from error
    missing = [key for key in ("latent_dim", "prior", "output", "tflite") if key not in info]
    if not isinstance(info, dict) or missing:
        raise GenerateError(
            f"{path} is not an export.json written by `python -m export` (it lacks "
            f"{', '.join(missing) or 'its fields'}). Export the model again."
        )
    return info


class Generator:
    """A TFLite decoder plus its prior: ``generate(n, seed)`` and ``decode(z)``.

    Args:
        folder: an export folder (with export.json and the .tflite files).
        variant: "float32" (decoder.tflite), "float16" or "dynamic".
        num_threads: LiteRT CPU threads (None: the runtime's default).
    """

    def __init__(self, folder, variant="float32", num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.folder = Path(folder)
        if variant not in VARIANTS:
            raise GenerateError(
                f"Unknown variant {variant!r}. Valid choices: {', '.join(map(repr, VARIANTS))}."
            )
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
        ):
            raise GenerateError(
                f"num_threads must be an integer >= 1 or None, got {num_threads!r}."
            )
        self.info = read_export_info(self.folder)
        files = self.info.get("tflite", {})
        if variant not in files:
            raise GenerateError(
                f"{self.folder} has no {variant} TFLite file; it has: "
                f"{', '.join(files) or 'none'} (export with --quantize {variant})."
            )
        entry = files[variant]
        self.variant = variant
        self.path = self.folder / entry["path"]
        self.latent_dim = int(self.info["latent_dim"])
        self.prior = self.info["prior"]
        try:
            check_family(self.prior.get("family"))
        except ValueError as error:
            raise GenerateError(
                f"{self.folder / EXPORT_JSON}: {error} Re-export the model with this "
                "version of keras_svae."
            ) from None
        self.output_shape = tuple(self.info["output"]["shape"][1:])
        self.value_range = self.info["output"].get("value_range")
        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self._runner = self._interpreter.get_signature_runner(entry.get("signature", "decode"))
        except (ValueError, RuntimeError, OSError) as error:
            raise GenerateError(
                f"Cannot load {self.path} with LiteRT: the file is missing, corrupt or not a "
                f"TFLite model ({error}). Export the model again."
            ) from None

    def sample_latents(self, n, seed=0):
        """n draws from the prior, [n, latent_dim] float32 (numpy only)."""
        try:
            return sample_prior(self.prior, n, seed)
        except ValueError as error:
            raise GenerateError(str(error)) from None

    def decode(self, z):
        """The data [n, *output_shape] (float32) for latents z [n, latent_dim]."""
        try:
            z = np.ascontiguousarray(z, dtype=np.float32)
        except (TypeError, ValueError):
            raise GenerateError(f"z must hold numbers, got {np.asarray(z).dtype}.") from None
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise GenerateError(f"z must have shape (n, {self.latent_dim}), got {z.shape}.")
        if not np.all(np.isfinite(z)):
            raise GenerateError("z contains NaN or Inf values: decode needs finite latents.")
        if len(z) == 0:
            return np.zeros((0, *self.output_shape), np.float32)
        # Copy: the runner's outputs may alias the interpreter's buffers.
        return np.array(self._runner(z=z)["images"], copy=True)

    def generate(self, n, seed=0):
        """(images, z): n prior draws for ``seed`` and their decoded data."""
        z = self.sample_latents(n, seed)
        return self.decode(z), z


# ---------------------------------------------------------------- the grid
def image_tiles(images, output_shape):
    """[n, h, w, c] float64 with c in (1, 3) from decoded data of any shape."""
    x = np.asarray(images, np.float64)
    n = len(x)
    shape = tuple(output_shape)
    if len(shape) == 3 and shape[-1] in (1, 3):
        return x.reshape(n, *shape)
    if len(shape) == 3:  # other channel counts: show the first channel
        return x.reshape(n, *shape)[..., :1]
    if len(shape) == 2:
        return x.reshape(n, *shape, 1)
    size = math.prod(shape)
    side = math.isqrt(size)
    if side * side == size:
        return x.reshape(n, side, side, 1)
    return x.reshape(n, 1, size, 1)


def image_grid(images, output_shape=None, value_range=None, pad=1, min_tile=32):
    """A uint8 grid image [H, W] or [H, W, 3] of ``images``.

    Values are clipped to ``value_range`` when given (e.g. [0, 1]); otherwise
    each tile is stretched from its own min to max. Small tiles are enlarged
    (nearest neighbour) to at least ``min_tile`` pixels.

    Args:
        images: the decoded data, [n, ...], one tile each.
        output_shape: the shape of one example: [h, w, c] (first channel
            shown unless c is 1 or 3), [h, w], or flat (a square side when
            the size is a square, else one row); None takes the images' own.
        value_range: ``(low, high)`` to clip to, or None to stretch each tile.
        pad: pixels of background between tiles.
        min_tile: the smallest tile side, in pixels, after enlarging.

    Returns:
        A uint8 numpy array [H, W] (grey) or [H, W, 3] (RGB).
    """
    images = np.asarray(images)
    if len(images) == 0:
        raise GenerateError("No images to draw (n = 0).")
    tiles = image_tiles(images, output_shape or images.shape[1:])
    n, h, w, c = tiles.shape
    if value_range is not None:
        low, high = float(value_range[0]), float(value_range[1])
        tiles = (np.clip(tiles, low, high) - low) / max(high - low, 1e-12)
    else:
        low = tiles.min(axis=(1, 2, 3), keepdims=True)
        high = tiles.max(axis=(1, 2, 3), keepdims=True)
        tiles = (tiles - low) / np.maximum(high - low, 1e-12)
    tiles = np.nan_to_num(tiles, nan=0.0)
    zoom = max(1, math.ceil(min_tile / max(h, w)))
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    h, w = h * zoom, w * zoom
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c))
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = tiles[i]
    grid = np.round(grid * 255).astype(np.uint8)
    return grid[..., 0] if c == 1 else grid


def write_png(path, image):
    """Write an image as a PNG file, atomically (numpy and zlib only).

    Args:
        path: the .png file to write.
        image: a uint8 array [H, W] (grey) or [H, W, 3] (RGB).

    Returns:
        The written file's ``Path``.

    Raises:
        GenerateError: for an array of another shape.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 2:
        colour_type, channels = 0, 1
    elif image.ndim == 3 and image.shape[2] == 3:
        colour_type, channels = 2, 3
    else:
        raise GenerateError(f"write_png needs [H, W] or [H, W, 3], got {image.shape}.")
    height, width = image.shape[:2]
    raw = np.concatenate(
        [np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
    return write_bytes(path, png)


def check_output_file(path, what, suffixes=None):
    """Raise a GenerateError, before anything is drawn, unless ``path`` is a
    file that can be written (its folder exists) with one of ``suffixes``."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise GenerateError(
            f"{what} {path} must end in {' or '.join(suffixes)}; for another name, pass "
            f"{path.with_suffix(suffixes[0])}."
        )
    if not path.parent.is_dir():
        state = "is a file, not a folder" if path.parent.exists() else "does not exist"
        raise GenerateError(f"Cannot write {what} {path}: folder {path.parent} {state}.")
    if path.is_dir():
        raise GenerateError(f"Cannot write {what} {path}: it is a folder; name a file.")
    return path


def write_samples(path, images, output_shape=None, value_range=None):
    """Write samples atomically: a .npy file holds the array [n, *data shape],
    any other path a PNG grid of them (``image_grid``)."""
    if Path(path).suffix.lower() != ".npy":
        return write_png(path, image_grid(images, output_shape, value_range))
    with atomic_path(path) as temporary, open(temporary, "wb") as f:
        np.save(f, np.asarray(images))
    return Path(path)
