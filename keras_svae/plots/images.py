"""Showing examples as images, and the one way a figure is finished: titled
and, when asked, written as a PNG atomically (``files.atomic_path``)."""

import math

import numpy as np

from keras_svae.files import atomic_path

DPI = 100
TILE = 1.2  # inches per image tile
COLUMNS = 10  # tiles per row of patterns


def as_images(x, image_shape=None):
    """Turn examples into images that matplotlib and TensorBoard can show.

    Args:
        x: examples: flat vectors [n, d], or [n, H, W], [n, H, W, 1], [n, H, W, 3].
        image_shape: (height, width[, channels]) to reshape each example to;
            needed for flat examples that are not square.

    Returns:
        float32 [n, H, W] (grey) or [n, H, W, 3] (colour).
    """
    if hasattr(x, "decode"):  # a model, not an array: np.asarray raises a bare TypeError
        raise ValueError(f"Got a {type(x).__name__}: pass evaluation.latent_patterns(model).")
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        raise ValueError("No examples to show: the array is empty. Pass at least one.")
    if image_shape is not None:
        if math.prod(image_shape) != x[0].size:
            raise ValueError(f"image_shape={tuple(image_shape)} does not fit examples of shape "
                             f"{x.shape[1:]}: its sizes must multiply to {x[0].size}.")  # fmt: skip
        x = x.reshape((len(x), *image_shape))
    elif x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(
                f"Cannot show examples of size {x.shape[1]} as square images; pass "
                "image_shape=(height, width[, channels])."
            )
        x = x.reshape(len(x), side, side)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 3):
        raise ValueError(
            f"Cannot show examples of shape {x.shape[1:]} as images: expected (H, W), "
            "(H, W, 1) or (H, W, 3). Pass image_shape=(height, width[, channels])."
        )
    return x


def image_limits(*arrays, symmetric=False):
    """One (low, high) intensity range covering all ``arrays``; centred at 0
    when ``symmetric`` (patterns add and subtract intensity)."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    if symmetric:
        low, high = -max(abs(low), abs(high)), max(abs(low), abs(high))
    if not high - low > 1e-12:  # a constant image shows as mid-grey
        low, high = low - 0.5, high + 0.5
    return low, high


def draw_image(axis, image, low, high):
    """One image on ``axis`` with the intensity range [low, high], no ticks."""
    axis.set(xticks=[], yticks=[])
    if image.ndim == 3:
        axis.imshow(np.clip((image - low) / (high - low), 0.0, 1.0), interpolation="nearest")
    else:
        axis.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")


def finish_figure(figure, path, title):
    """Add the title, write the PNG atomically if ``path`` is given, return the figure."""
    if title:
        figure.suptitle(title)
    if path is not None:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=DPI, bbox_inches="tight")
    return figure
