"""The appendix toy problem: 10x10 images that are sparse sums of two Gaussian templates.

A data set whose generative process is known: each image is
``clip(a_1 * t_1 + a_2 * t_2 + noise, 0, 1)`` with two fixed Gaussian-blob
templates ``t_k`` (peak value 1). Each amplitude ``a_k`` is zero with
probability ``1 - presence_prob`` and otherwise uniform in
``amplitude_range``, so the true causes are sparse and non-negative; a sparse
VAE with two active latents should recover them. The true amplitudes are the
labels, so latents can be compared with them. Values lie in [0, 1], as a
Bernoulli (sigmoid) decoder expects. Everything is drawn from one seed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from keras_svae.data.pipeline import DatasetInfo, make_dataset

DEFAULT_CENTRES = ((3.0, 3.0), (6.0, 6.0))


def gaussian_templates(image_size: int = 10, centres: Sequence[Sequence[float]] = DEFAULT_CENTRES, width: float = 1.5) -> np.ndarray:
    """Gaussian blobs with peak 1 at ``centres`` (row, col): float32 (k, size, size)."""
    rows, cols = np.mgrid[0:image_size, 0:image_size].astype(np.float64)
    blobs = [np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2.0 * width**2)) for r, c in centres]
    return np.stack(blobs).astype(np.float32)


def make_toy_images(
    num_examples: int,
    *,
    seed: int = 0,
    image_size: int = 10,
    centres: Sequence[Sequence[float]] = DEFAULT_CENTRES,
    width: float = 1.5,
    presence_prob: float = 0.5,
    amplitude_range: tuple[float, float] = (0.5, 1.0),
    noise_std: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws the toy data: ``(images (n, size, size), amplitudes (n, k), templates (k, size, size))``."""
    if num_examples < 1:
        raise ValueError(f"num_examples must be positive, got {num_examples}")
    if not 0.0 <= presence_prob <= 1.0:
        raise ValueError(f"presence_prob must be in [0, 1], got {presence_prob}")
    rng = np.random.default_rng(seed)
    templates = gaussian_templates(image_size, centres, width)
    k = len(templates)
    present = rng.random((num_examples, k)) < presence_prob
    amplitudes = np.where(present, rng.uniform(*amplitude_range, size=(num_examples, k)), 0.0)
    images = np.einsum("nk,kij->nij", amplitudes, templates)
    images += noise_std * rng.standard_normal(images.shape)
    return (
        np.clip(images, 0.0, 1.0).astype(np.float32),
        amplitudes.astype(np.float32),
        templates,
    )


def load_toy(
    num_examples: int = 10_000,
    *,
    seed: int = 0,
    flatten: bool = True,
    with_labels: bool = False,
    batch_size: int = 128,
    shuffle: bool = True,
    drop_remainder: bool = False,
    **generator_options,
) -> tuple[tf.data.Dataset, DatasetInfo]:
    """The toy data as a batched `tf.data.Dataset` (x float32 in [0, 1]).

    Args:
        num_examples: images to generate; use another ``seed`` for a test set.
        seed: seeds the images and the shuffling.
        flatten: elements (100,) instead of (10, 10, 1).
        with_labels: elements ``(x, amplitudes)`` with the true float32
            amplitudes (k,) of the templates.
        generator_options: passed to `make_toy_images` (``centres``, ``width``,
            ``presence_prob``, ``amplitude_range``, ``noise_std``, ``image_size``).
        batch_size, shuffle, drop_remainder: see `make_dataset`.

    ``info.extra["templates"]`` holds the true templates.
    """
    images, amplitudes, templates = make_toy_images(num_examples, seed=seed, **generator_options)
    size = images.shape[1]
    element_shape = (size * size,) if flatten else (size, size, 1)
    x = images.reshape(len(images), *element_shape)
    ds = make_dataset(
        x,
        amplitudes if with_labels else None,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
    )
    info = DatasetInfo(
        name="toy",
        split="generated",
        num_examples=num_examples,
        batch_size=batch_size,
        element_shape=element_shape,
        value_range=(0.0, 1.0),
        with_labels=with_labels,
        label_shape=(len(templates),),
        source=f"make_toy_images(seed={seed})",
        preprocessing={"seed": seed, "flatten": flatten, "drop_remainder": drop_remainder, **generator_options},
        extra={"templates": templates},
    )
    return ds, info
