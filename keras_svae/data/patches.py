"""Image patches for sparse coding, shared by the CIFAR-10 and image-folder loaders.

Sparse coding models small image patches, not whole images. Two ways to get
``patch_size`` x ``patch_size`` inputs from an image:

- ``mode="random"``: random crops, ``patches_per_image`` per image, positions
  drawn from a seeded generator (the classic Olshausen-Field setting);
- ``mode="downsample"``: the whole image shrunk to ``patch_size`` by block
  (area) averaging. CIFAR-10's 32x32 -> 12x12 is not an integer factor, so a
  plain reshape-and-mean block average does not apply; this uses
  ``tf.image.resize(method="area")``, which averages each output pixel's
  footprint with fractional weights (no aliasing, unlike bilinear resizing).
  The image's aspect ratio is not kept.
- ``mode="centre"``: the one centred crop per image (the paper author's CIFAR
  setting: the centre 12x12 of each 32x32 image).

Then, in this order: intensities to [0, 1]; optional grayscale (ITU-R BT.601
luma, as ``tf.image.rgb_to_grayscale``); flattening; per-patch mean removal
(the mean over all pixels and channels of each patch: the DC component carries
no structure and would dominate the variance); global scaling (division by the
std of all training-patch values, so the data have unit global std); optional
PCA/ZCA whitening. Scale and whitening are *fitted* on the training patches;
other data reuse them through ``preprocessing_from=train_info``. Each patch
keeps the label of its source image.
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.data.whitening import METHODS, Whitening
from keras_svae.names import lookup
from keras_svae.validation import check_number, check_positive_int

PATCH_MODES = ("random", "downsample", "centre")
GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)

# Settings that must agree between the training data and data that reuse its fit.
_FITTED_SETTINGS = (
    "patch_size", "mode", "grayscale", "remove_mean", "normalize", "whiten", "n_components",
    "epsilon",
)  # fmt: skip


def _check_size(image_shape, patch_size, index):
    if image_shape[0] < patch_size or image_shape[1] < patch_size:
        raise ValueError(
            f"Image {index} is {image_shape[1]}x{image_shape[0]} pixels, smaller than the "
            f"{patch_size}x{patch_size} patch. Use a smaller patch_size, or drop the image."
        )


def random_patches(images, patch_size, patches_per_image, seed=0):
    """Random square crops: returns ``(patches, source_index)``.

    Args:
        images: array (n, height, width, channels), or a sequence of
            (height, width, channels) arrays of different sizes.
        patch_size: side of the square crops.
        patches_per_image: crops per image, drawn independently (may overlap).
        seed: seeds the crop positions.

    Returns:
        patches (n * patches_per_image, patch_size, patch_size, channels) in
        the images' dtype, and the index of each patch's source image.
    """
    rng = np.random.default_rng(seed)
    if isinstance(images, np.ndarray) and images.ndim == 4:  # one vectorised crop for equal sizes
        n, h, w, _ = images.shape
        _check_size((h, w), patch_size, 0)
        source = np.repeat(np.arange(n), patches_per_image)
        rows = rng.integers(0, h - patch_size + 1, size=source.size)
        cols = rng.integers(0, w - patch_size + 1, size=source.size)
        windows = np.lib.stride_tricks.sliding_window_view(
            images, (patch_size, patch_size), axis=(1, 2)
        )
        return windows[source, rows, cols].transpose(0, 2, 3, 1), source
    patches, sources = [], []
    for i, image in enumerate(images):
        _check_size(image.shape, patch_size, i)
        h, w = image.shape[:2]
        rows = rng.integers(0, h - patch_size + 1, size=patches_per_image)
        cols = rng.integers(0, w - patch_size + 1, size=patches_per_image)
        windows = np.lib.stride_tricks.sliding_window_view(
            image, (patch_size, patch_size), axis=(0, 1)
        )
        patches.append(windows[rows, cols].transpose(0, 2, 3, 1))
        sources.append(np.full(patches_per_image, i))
    return np.concatenate(patches), np.concatenate(sources)


def centre_patches(images, patch_size):
    """The centred ``patch_size`` square of each image, float32 (n, s, s, c)."""
    out = []
    for i, image in enumerate(images):
        _check_size(image.shape, patch_size, i)
        top, left = (image.shape[0] - patch_size) // 2, (image.shape[1] - patch_size) // 2
        out.append(image[top : top + patch_size, left : left + patch_size])
    return np.stack(out).astype(np.float32)


def downsample_images(images, patch_size, chunk=4096):
    """Area-averages whole images down to (patch_size, patch_size).

    Args:
        images: array (n, height, width, channels), or a sequence of
            (height, width, channels) arrays of different sizes.
        patch_size: side of the output.
        chunk: images resized per TensorFlow call (bounds the memory used).

    Returns:
        float32 (n, patch_size, patch_size, channels).
    """
    size = (patch_size, patch_size)
    if isinstance(images, np.ndarray) and images.ndim == 4:
        _check_size(images.shape[1:3], patch_size, 0)
        out = [
            tf.image.resize(tf.cast(images[i : i + chunk], tf.float32), size, method="area")
            for i in range(0, len(images), chunk)
        ]
    else:
        out = []
        for i, image in enumerate(images):
            _check_size(image.shape, patch_size, i)
            out.append(tf.image.resize(tf.cast(image, tf.float32), size, method="area")[None])
    return np.concatenate([o.numpy() for o in out]).astype(np.float32)


def to_grayscale(x):
    """RGB (..., 3) -> luma (..., 1), BT.601 weights; other channel counts pass through."""
    if x.shape[-1] != 3:
        return x
    return (x @ GRAY_WEIGHTS)[..., None].astype(np.float32)


class Patches(NamedTuple):
    """Output of `prepare_patches`."""

    x: np.ndarray  # float32 (m, d), or (m, s, s, c) with flatten=False
    labels: np.ndarray  # label of each patch's source image, or None
    scale: float  # or None
    whitening: Whitening  # or None
    settings: dict


def prepare_patches(
    images,
    labels=None,
    *,
    patch_size=12,
    mode="random",
    patches_per_image=1,
    grayscale=True,
    remove_mean=True,
    normalize=True,
    whiten=None,
    n_components=None,
    epsilon=1e-2,
    flatten=True,
    seed=0,
    fitted=None,
):
    """Extracts and preprocesses patches (see the module docstring for the steps).

    Args:
        images: uint8 images (intensities 0-255) or float images in [0, 1], as
            an array (n, h, w, c) or a sequence of (h, w, c) arrays.
        labels: one label per image, or None.
        patch_size: side of the square patches.
        mode: "random" (random crops), "downsample" (each whole image
            area-averaged to ``patch_size``) or "centre" (the central crop).
        patches_per_image: random crops per image.
        grayscale: convert RGB to one luma channel.
        remove_mean: subtract each patch's own mean.
        normalize: divide by the global std of the (training) patches.
        whiten: None, ``"pca"`` or ``"zca"`` (see `Whitening`).
        n_components: components kept by the whitening (None: all).
        epsilon: the whitening's regulariser, in units of the data after
            scaling (whose per-pixel variance is about 1 when ``normalize``).
        flatten: vectors (d,) rather than (patch_size, patch_size, channels);
            PCA whitening needs flat vectors.
        seed: seeds the random crops.
        fitted: the `DatasetInfo` of training data processed with the same
            settings; its scale and whitening are reused instead of fitted.

    Returns:
        `Patches`: the float32 patches, their labels, the fitted scale and
        whitening, and the settings (recorded in ``DatasetInfo.preprocessing``).
    """
    mode = lookup(mode, PATCH_MODES, "patch mode")
    patch_size = check_positive_int(patch_size, "patch_size")
    patches_per_image = check_positive_int(patches_per_image, "patches_per_image")
    whiten = None if whiten is None else lookup(whiten, METHODS, "whiten method")
    epsilon = check_number(epsilon, "epsilon", minimum=0.0)
    if whiten == "pca" and not flatten:
        raise ValueError(
            "PCA whitening gives vectors of principal components, not images, but flatten=False "
            "was asked for. Use flatten=True, or whiten='zca' (which keeps pixel space)."
        )
    settings = {
        "patch_size": patch_size,
        "mode": mode,
        "patches_per_image": patches_per_image if mode == "random" else 1,
        "grayscale": bool(grayscale),
        "remove_mean": bool(remove_mean),
        "normalize": bool(normalize),
        "whiten": whiten,
        "n_components": n_components,
        "epsilon": epsilon,
        "flatten": bool(flatten),
        "seed": int(seed),
    }
    if fitted is not None:
        mismatched = {
            k: (fitted.preprocessing.get(k), settings[k])
            for k in _FITTED_SETTINGS
            if fitted.preprocessing.get(k) != settings[k]
        }
        if mismatched:
            raise ValueError(
                "preprocessing_from was fitted with other settings (fitted vs requested): "
                + ", ".join(f"{k}={v[0]!r} vs {v[1]!r}" for k, v in mismatched.items())
                + ". Request the training data's settings, or fit on data loaded like this."
            )

    if mode == "random":
        raw, source = random_patches(images, patch_size, patches_per_image, seed)
        x = raw.astype(np.float32)
    elif mode == "centre":
        x, source = centre_patches(images, patch_size), np.arange(len(images))
    else:
        x = downsample_images(images, patch_size)
        source = np.arange(len(x))
    first = images if isinstance(images, np.ndarray) else images[0]
    if first.dtype == np.uint8:
        x /= 255.0
    if grayscale:
        x = to_grayscale(x)
    patch_shape = x.shape[1:]
    settings["patch_shape"] = [int(s) for s in patch_shape]
    x = x.reshape(len(x), -1)
    if remove_mean:
        x -= x.mean(axis=1, keepdims=True)

    scale, whitening = None, None
    if normalize:
        scale = fitted.scale if fitted is not None else float(x.std())
        if not scale > 0:
            raise ValueError(
                f"The patches have zero variance (std {scale!r}; constant images?), so they "
                "cannot be normalized. Check the images, or pass normalize=False."
            )
        x /= scale
    if whiten is not None:
        if fitted is not None:
            whitening = fitted.whitening
        else:
            whitening = Whitening(whiten, n_components, epsilon).fit(x)
        x = whitening.transform(x)
    if not flatten:
        x = x.reshape(len(x), *patch_shape)
    patch_labels = None if labels is None else np.asarray(labels)[source]
    x = np.ascontiguousarray(x, dtype=np.float32)
    return Patches(x, patch_labels, scale, whitening, settings)


def patch_pipeline(
    images,
    labels,
    *,
    name,
    split,
    source,
    class_names,
    fit_allowed,
    with_labels,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    preprocessing_from,
    **patch_options,
):
    """`prepare_patches` + `make_dataset` + `DatasetInfo`: the common tail of the patch loaders.

    Args:
        images, labels: as for `prepare_patches`.
        name, split, source, class_names: recorded in the `DatasetInfo`.
        fit_allowed: False (test splits) refuses to fit scale or whitening on
            this data: they must come from ``preprocessing_from`` (the
            training info), so test data never leaks into the preprocessing.
        with_labels, batch_size, shuffle, seed, drop_remainder: see `make_dataset`.
        preprocessing_from: the training data's `DatasetInfo`, or None.
        **patch_options: passed to `prepare_patches`.

    Returns:
        ``(dataset, info)``.
    """
    wants_fit = patch_options.get("normalize", True) or patch_options.get("whiten") is not None
    if wants_fit and preprocessing_from is None and not fit_allowed:
        raise ValueError(
            f"split={split!r}: global scaling and whitening must be fitted on training data only. "
            "Load the training split first and pass preprocessing_from=train_info "
            "(or use normalize=False, whiten=None)."
        )
    if with_labels and labels is None:
        raise ValueError(f"with_labels=True, but {name} has no labels. Pass with_labels=False.")
    p = prepare_patches(images, labels, seed=seed, fitted=preprocessing_from, **patch_options)
    ds = make_dataset(
        p.x,
        p.labels.astype(np.int32) if with_labels else None,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
    )
    info = DatasetInfo(
        name=name,
        split=split,
        num_examples=len(p.x),
        batch_size=batch_size,
        element_shape=tuple(p.x.shape[1:]),
        value_range=(float(p.x.min()), float(p.x.max())),
        with_labels=with_labels,
        class_names=None if class_names is None else tuple(class_names),
        source=source,
        scale=p.scale,
        whitening=p.whitening,
        preprocessing={**p.settings, "drop_remainder": drop_remainder},
    )
    return ds, info
