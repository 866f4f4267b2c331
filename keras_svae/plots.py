"""The paper's figures with matplotlib: reconstructions, patterns per latent,
the 2-D latent spread and decodes of a latent grid.

Every function writes a PNG atomically (temporary file, then rename) and returns
its path, so a crashed run never leaves a half-written figure.
"""

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _as_images(x, image_shape=None):
    """Turn examples into [n, H, W] (grey) or [n, H, W, 3] (colour) arrays."""
    x = np.asarray(x, dtype=np.float32)
    if image_shape is not None:
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
        raise ValueError(f"Cannot show examples of shape {x.shape[1:]} as images.")
    return x


def _show(axis, image, symmetric):
    """Draw one image: grey maps centred at 0 for patterns, colour rescaled."""
    axis.set_xticks([])
    axis.set_yticks([])
    if image.ndim == 3:
        low, high = image.min(), image.max()
        axis.imshow((image - low) / max(high - low, 1e-12))
        return
    if symmetric:
        limit = max(float(np.abs(image).max()), 1e-12)
        axis.imshow(image, cmap="gray", vmin=-limit, vmax=limit)
    else:
        axis.imshow(image, cmap="gray")


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    os.replace(temporary, path)
    return path


def plot_reconstructions(x, reconstructions, path, n=10, image_shape=None, title=None):
    """Inputs (top row) above their reconstructions (bottom row)."""
    n = min(n, len(x))
    originals = _as_images(x[:n], image_shape)
    decoded = _as_images(reconstructions[:n], image_shape)
    figure, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.6), squeeze=False)
    for i in range(n):
        _show(axes[0, i], originals[i], symmetric=False)
        _show(axes[1, i], decoded[i], symmetric=False)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("recon.")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_patterns(patterns, path, image_shape=None, title=None):
    """One tile per latent: the pattern it adds to the decoded data."""
    images = _as_images(patterns, image_shape)
    columns = min(len(images), 10)
    rows = math.ceil(len(images) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(1.2 * columns, 1.3 * rows + 0.4), squeeze=False
    )
    for k, axis in enumerate(axes.flat):
        if k < len(images):
            _show(axis, images[k], symmetric=True)
            axis.set_title(f"z{k}", fontsize=8)
        else:
            axis.axis("off")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_latent_spread(latent_codes, path, labels=None, title=None, limit=None):
    """Scatter of 2-D codes coloured by class: how well the classes separate.

    ``limit`` clips the axes (useful for Cauchy codes with far outliers); by
    default the 1st to 99th percentiles are shown.
    """
    latent_codes = np.asarray(latent_codes)
    if latent_codes.ndim != 2 or latent_codes.shape[1] != 2:
        raise ValueError(
            f"The latent spread needs 2-D codes, got shape {latent_codes.shape}."
        )
    figure, axis = plt.subplots(figsize=(5, 5))
    if labels is None:
        axis.scatter(latent_codes[:, 0], latent_codes[:, 1], s=2, alpha=0.6)
    else:
        points = axis.scatter(latent_codes[:, 0], latent_codes[:, 1], c=labels, s=2,
                              cmap="tab10", alpha=0.6)
        figure.colorbar(points, ax=axis)
    if limit is None:
        low, high = np.percentile(latent_codes, [1, 99], axis=0)
        margin = 0.1 * (high - low)
        axis.set_xlim(low[0] - margin[0], high[0] + margin[0])
        axis.set_ylim(low[1] - margin[1], high[1] + margin[1])
    else:
        axis.set_xlim(-limit, limit)
        axis.set_ylim(-limit, limit)
    axis.set_xlabel("z0")
    axis.set_ylabel("z1")
    if title:
        axis.set_title(title)
    return _save(figure, path)


def plot_latent_grid(model, path, extent=3.0, n=15, image_shape=None, title=None):
    """Decode an n x n grid of 2-D latents spanning [-extent, extent]^2."""
    if model.latent_dim != 2:
        raise ValueError(
            f"The latent grid needs a model with latent_dim=2, got {model.latent_dim}."
        )
    values = np.linspace(-extent, extent, n, dtype=np.float32)
    grid = np.array([[x, y] for y in values[::-1] for x in values], dtype=np.float32)
    images = _as_images(np.asarray(model.decode(grid)), image_shape)
    figure, axes = plt.subplots(n, n, figsize=(0.6 * n, 0.6 * n), squeeze=False)
    for axis, image in zip(axes.flat, images):
        _show(axis, image, symmetric=False)
    figure.subplots_adjust(wspace=0.02, hspace=0.02)
    if title:
        figure.suptitle(title)
    return _save(figure, path)
