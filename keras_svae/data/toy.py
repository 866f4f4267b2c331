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

import numpy as np

from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.validation import check_number, check_positive_int, check_scale, check_seed

DEFAULT_CENTRES = ((3.0, 3.0), (6.0, 6.0))


def gaussian_templates(image_size=10, centres=DEFAULT_CENTRES, width=1.5):
    """Gaussian blobs with peak 1.

    Args:
        image_size: side of the images.
        centres: one (row, col) centre per template.
        width: the blobs' standard deviation in pixels.

    Returns:
        float32 (k, image_size, image_size).
    """
    rows, cols = np.mgrid[0:image_size, 0:image_size].astype(np.float64)
    blobs = [np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2.0 * width**2)) for r, c in centres]
    return np.stack(blobs).astype(np.float32)


def make_toy_images(
    num_examples,
    *,
    seed=0,
    image_size=10,
    centres=DEFAULT_CENTRES,
    width=1.5,
    presence_prob=0.5,
    amplitude_range=(0.5, 1.0),
    noise_std=0.05,
):
    """Draws the toy data.

    Args:
        num_examples: images to draw.
        seed: seeds everything.
        image_size: side of the images.
        centres: one (row, col) centre per template (see `gaussian_templates`).
        width: the templates' standard deviation in pixels.
        presence_prob: probability that a template is present in an image.
        amplitude_range: ``(low, high)`` of a present template's uniform amplitude.
        noise_std: standard deviation of the Gaussian pixel noise (before clipping).

    Returns:
        ``(images (n, size, size), amplitudes (n, k), templates (k, size, size))``,
        float32.
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    image_size = check_positive_int(image_size, "image_size")
    width = check_scale(width, "width")
    noise_std = check_number(noise_std, "noise_std", minimum=0.0)
    presence_prob = check_number(presence_prob, "presence_prob")
    if not 0.0 <= presence_prob <= 1.0:
        raise ValueError(
            f"presence_prob must be a probability in [0, 1], got {presence_prob!r}. "
            "E.g. presence_prob=0.5."
        )
    seed = check_seed(seed, allow_none=False)
    try:
        low, high = (check_number(a, "amplitude_range") for a in amplitude_range)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not 0.0 <= low <= high:
        raise ValueError(
            f"amplitude_range must be (low, high) with 0 <= low <= high, got "
            f"{amplitude_range!r}. E.g. amplitude_range=(0.5, 1.0)."
        )
    rng = np.random.default_rng(seed)
    templates = gaussian_templates(image_size, centres, width)
    k = len(templates)
    present = rng.random((num_examples, k)) < presence_prob
    amplitudes = np.where(present, rng.uniform(low, high, size=(num_examples, k)), 0.0)
    images = np.einsum("nk,kij->nij", amplitudes, templates)
    images += noise_std * rng.standard_normal(images.shape)
    return (
        np.clip(images, 0.0, 1.0).astype(np.float32),
        amplitudes.astype(np.float32),
        templates,
    )


def load_toy(
    num_examples=10_000,
    *,
    seed=0,
    flatten=True,
    with_labels=False,
    batch_size=128,
    shuffle=True,
    drop_remainder=False,
    **generator_options,
):
    """The toy data as a batched `tf.data.Dataset` (x float32 in [0, 1]).

    Args:
        num_examples: images to generate; use another ``seed`` for a test set.
        seed: seeds the images and the shuffling.
        flatten: elements (100,) instead of (10, 10, 1).
        with_labels: elements ``(x, amplitudes)`` with the true float32
            amplitudes (k,) of the templates.
        batch_size: examples per batch (see `make_dataset`).
        shuffle: reshuffle the images every epoch.
        drop_remainder: drop the last, smaller batch (static batch shapes).
        **generator_options: passed to `make_toy_images` (``centres``,
            ``width``, ``presence_prob``, ``amplitude_range``, ``noise_std``,
            ``image_size``).

    Returns:
        ``(dataset, info)``; ``info.extra["templates"]`` holds the true templates.
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
        preprocessing={
            "seed": seed,
            "flatten": flatten,
            "drop_remainder": drop_remainder,
            **generator_options,
        },
        extra={"templates": templates},
    )
    return ds, info
