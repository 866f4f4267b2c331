"""MNIST from tensorflow_datasets or from the official IDX files.

MNIST is the standard test bed for VAEs with a Bernoulli likelihood, which
needs pixels in [0, 1] or binary pixels. Binarisation comes in the two usual
flavours: a fixed threshold (one binary data set) and *dynamic* binarisation,
which draws every pixel from Bernoulli(intensity) again at each pass over the
data; the latter is the common protocol for reporting likelihoods on MNIST and
acts as a regulariser. Dynamic samples are seeded, so a run can be repeated.

Two sources, same result: ``source="tfds"`` (``tfds.load("mnist")``) or
``source="idx"`` with a folder holding the four official files
(``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, gzipped or not).
The IDX parser checks the magic number, dimensions and file length, so a
damaged download fails loudly rather than training on garbage.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.data.tfds_source import load_tfds_arrays
from keras_svae.names import lookup
from keras_svae.validation import check_number

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_CLASS_NAMES = tuple(str(i) for i in range(10))
BINARIZE_MODES = (None, "threshold", "dynamic")
SOURCES = ("idx", "tfds")

_HOW_TO_GET = (
    "Expected the official MNIST IDX files train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
    "(gzipped or not), as published by Y. LeCun and mirrors; or load MNIST through "
    'tensorflow_datasets with keras_svae.data.load_mnist(source="tfds") (tfds.load("mnist")).'
)

# Ends the tfds errors about data that is neither prepared nor downloadable.
_OFFLINE_FIX = (
    "Without network access, pass load_mnist(path=<folder>) with the four MNIST IDX files "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz (gzipped or not); on the command line, --data-dir <folder>."
)


def read_idx(path, expected_magic=None):
    """Reads one IDX file of unsigned bytes (MNIST images or labels) into a uint8 array.

    Args:
        path: the file, gzipped (``.gz``) or not.
        expected_magic: 2051 (images) or 2049 (labels); None accepts either.

    Returns:
        ``(n, rows, cols)`` for images, ``(n,)`` for labels.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad gzip data, wrong magic number, or a file length that
            does not match the header (truncated download); the message names
            the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist. {_HOW_TO_GET}")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path}: cannot decompress ({err}); the download is probably damaged. "
            "Download the file again."
        ) from err

    again = "Download the file again."
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX file. {again}")
    magic = int(np.frombuffer(data, dtype=">i4", count=1)[0])
    if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
        raise ValueError(
            f"{path}: not an MNIST IDX file: magic number {magic}, expected "
            f"{IDX_IMAGES_MAGIC} (images) or {IDX_LABELS_MAGIC} (labels). {_HOW_TO_GET}"
        )
    if expected_magic is not None and magic != expected_magic:
        kind = {IDX_IMAGES_MAGIC: "images", IDX_LABELS_MAGIC: "labels"}
        raise ValueError(
            f"{path}: IDX magic number {magic} ({kind[magic]}), expected "
            f"{expected_magic} ({kind[expected_magic]}). Are the file names swapped?"
        )
    ndim = 3 if magic == IDX_IMAGES_MAGIC else 1
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise ValueError(
            f"{path}: truncated IDX header ({len(data)} bytes, need {header_bytes}). {again}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    if any(d <= 0 for d in dims):
        raise ValueError(f"{path}: invalid IDX dimensions {dims}. {again}")
    expected = header_bytes + int(np.prod(dims))
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "too long"
        raise ValueError(
            f"{path}: IDX header announces shape {dims} ({expected} bytes) but the file holds "
            f"{len(data)} bytes; the file is {state}. {again}"
        )
    # A writable copy (np.frombuffer on bytes is read-only).
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(dims).copy()


def _find_idx_file(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"MNIST folder {folder} has no {stem}.gz (nor {stem}). {_HOW_TO_GET}")


def read_mnist_idx(folder, split="train"):
    """Reads one MNIST split from a folder of IDX files.

    Args:
        folder: the folder holding the IDX files (gzipped or not).
        split: ``"train"`` or ``"test"``.

    Returns:
        uint8 images (n, 28, 28) and uint8 labels (n,).
    """
    split = lookup(split, tuple(MNIST_FILES), "split")
    folder = Path(folder)
    if folder.is_file():
        raise NotADirectoryError(
            f"MNIST path {folder} is a file; pass the folder that holds the four IDX files "
            f"(here: {folder.parent}). {_HOW_TO_GET}"
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} does not exist. {_HOW_TO_GET}")
    image_stem, label_stem = MNIST_FILES[split]
    image_path = _find_idx_file(folder, image_stem)
    label_path = _find_idx_file(folder, label_stem)
    images = read_idx(image_path, IDX_IMAGES_MAGIC)
    labels = read_idx(label_path, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} "
            f"labels: one of them is damaged or from another split. {_HOW_TO_GET}"
        )
    return images, labels


def check_binarize(binarize, threshold):
    """Checks the binarisation options.

    Args:
        binarize: None, ``"threshold"`` or ``"dynamic"`` (case-insensitive).
        threshold: a number in [0, 1) when ``binarize="threshold"``.

    Returns:
        ``(binarize, threshold)``: the canonical mode and the threshold as a float.
    """
    if binarize is not None:
        binarize = lookup(binarize, BINARIZE_MODES[1:], "binarize mode")
    threshold = check_number(threshold, "threshold")
    if binarize == "threshold" and not 0.0 <= threshold < 1.0:
        raise ValueError(
            f"threshold must be in [0, 1) (it applies to intensities scaled to [0, 1]), got "
            f"{threshold!r}. E.g. threshold=0.5."
        )
    return binarize, threshold


def pixel_batch_fn(*, scale, binarize, threshold, element_shape):
    """Returns the per-batch map: uint8 -> float32, optional binarisation, reshape.

    Binarisation works on intensities in [0, 1] whatever ``scale`` says (the
    result is 0/1 either way); ``"dynamic"`` draws Bernoulli(intensity) with the
    batch's stateless seed, so samples differ between passes but repeat with
    the data set's seed.

    Args:
        scale: divide the pixels by 255.
        binarize, threshold: see `check_binarize`.
        element_shape: the shape of one output example.

    Returns:
        ``fn(x_batch, seed) -> x_batch``, for `make_dataset`'s ``map_batch``.
    """
    binarize, threshold = check_binarize(binarize, threshold)
    shape = [-1, *element_shape]

    def fn(x, seed):
        x = tf.cast(x, tf.float32)
        if binarize is not None or scale:
            x = x / 255.0
        if binarize == "threshold":
            x = tf.cast(x > threshold, tf.float32)
        elif binarize == "dynamic":
            x = tf.cast(tf.random.stateless_uniform(tf.shape(x), seed=seed) < x, tf.float32)
        return tf.reshape(x, shape)

    return fn


def load_mnist(
    path=None,
    *,
    source=None,
    split="train",
    batch_size=128,
    shuffle=None,
    seed=0,
    scale=True,
    binarize=None,
    threshold=0.5,
    flatten=True,
    with_labels=False,
    drop_remainder=False,
    tfds_data_dir=None,
    download=True,
):
    """MNIST as a batched `tf.data.Dataset` ready for ``model.fit``.

    Args:
        path: folder with the IDX files; implies ``source="idx"``.
        source: ``"idx"`` or ``"tfds"``; default: ``"idx"`` when ``path`` is given,
            else ``"tfds"``.
        split: ``"train"`` (60,000) or ``"test"`` (10,000). With tfds any tfds
            split string works (e.g. ``"train[:90%]"``).
        batch_size: examples per batch (see `make_dataset`).
        shuffle: reshuffle every epoch; default True for training splits (names
            starting with "train"), else False.
        seed: seeds the shuffle and the dynamic binarisation.
        scale: divide pixels by 255 (values in [0, 1]); False keeps [0, 255].
        binarize: None, ``"threshold"`` (pixel > ``threshold``, fixed) or
            ``"dynamic"`` (Bernoulli re-sampling at each epoch, seeded).
        threshold: threshold on [0, 1] intensities for ``binarize="threshold"``.
        flatten: elements of shape (784,) instead of (28, 28, 1).
        with_labels: elements are ``(x, label)`` with int32 labels 0-9.
        drop_remainder: drop the last, smaller batch (static batch shapes).
        tfds_data_dir: passed to ``tfds.load`` (where tfds keeps its data).
        download: passed to ``tfds.load``.

    Returns:
        ``(dataset, info)``; x is float32.

    Raises:
        TfdsDownloadError: a `ConnectionError` naming the IDX alternative,
            when tfds has no copy and cannot download one (no network access).
    """
    source = lookup(source or ("idx" if path is not None else "tfds"), SOURCES, "MNIST source")
    binarize, threshold = check_binarize(binarize, threshold)
    if source == "idx":
        if path is None:
            raise ValueError(f'load_mnist(source="idx") needs path=<folder>. {_HOW_TO_GET}')
        split = lookup(split, tuple(MNIST_FILES), "split")
        images, labels = read_mnist_idx(path, split)
        where = str(Path(path))
    else:
        images, labels = load_tfds_arrays(
            "mnist",
            split,
            data_dir=tfds_data_dir,
            download=download,
            title="MNIST",
            offline_fix=_OFFLINE_FIX,
        )
        images = images.reshape(images.shape[:3])  # (n, 28, 28, 1) -> (n, 28, 28)
        where = "tfds:mnist"

    rows, cols = images.shape[1:3]
    element_shape = (rows * cols,) if flatten else (rows, cols, 1)
    fn = pixel_batch_fn(
        scale=scale, binarize=binarize, threshold=threshold, element_shape=element_shape
    )
    if shuffle is None:
        shuffle = split.startswith("train")
    ds = make_dataset(
        images,
        labels.astype(np.int32) if with_labels else None,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        map_batch=fn,
    )
    info = DatasetInfo(
        name="mnist",
        split=split,
        num_examples=len(images),
        batch_size=batch_size,
        element_shape=element_shape,
        value_range=(0.0, 1.0) if (scale or binarize) else (0.0, 255.0),
        with_labels=with_labels,
        class_names=MNIST_CLASS_NAMES,
        source=where,
        preprocessing={
            "scale": scale,
            "binarize": binarize,
            "threshold": threshold,
            "flatten": flatten,
            "seed": seed,
            "drop_remainder": drop_remainder,
        },
    )
    return ds, info
