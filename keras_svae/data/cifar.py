"""CIFAR-10 from tensorflow_datasets or from the official *binary* files.

CIFAR-10 gives small natural-image patches with class labels (12x12 patches
are a common sparse-coding input). Sources: ``source="tfds"``
(``tfds.load("cifar10")``) or ``source="binary"``: the "binary version"
(``cifar-10-binary.tar.gz``, extracting to ``cifar-10-batches-bin/`` with
``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``). Each
record is 3073 bytes: one label byte, then 1024 red, 1024 green and 1024 blue
bytes of a row-major 32x32 image; any file holding a whole number of records
is accepted (e.g. a subset such as ``test_batch_first1000.bin``).

The "python version" (``cifar-10-batches-py``, files ``data_batch_1`` without
``.bin``) is a pickle, and unpickling can execute arbitrary code, so it is
refused with a pointer to the binary version or tfds; this module never
unpickles anything.
"""

import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_svae.data.patches import patch_pipeline
from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.data.tfds_source import load_tfds_arrays
from keras_svae.names import lookup

CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
IMAGE_SHAPE = (32, 32, 3)
RECORD_BYTES = 1 + 32 * 32 * 3  # 3073
SPLIT_PATTERNS = {"train": "data_batch_*.bin", "test": "test_batch*.bin"}
SOURCES = ("binary", "tfds")

_HOW_TO_GET = (
    "Expected the CIFAR-10 binary version: data_batch_1.bin ... data_batch_5.bin (train) and "
    "test_batch.bin (test), from cifar-10-binary.tar.gz "
    "(https://www.cs.toronto.edu/~kriz/cifar.html, extracts to cifar-10-batches-bin/); or load "
    'CIFAR-10 through tensorflow_datasets with keras_svae.data.load_cifar10(source="tfds") '
    '(tfds.load("cifar10")).'
)
# Ends the tfds errors about data that is neither prepared nor downloadable.
_OFFLINE_FIX = (
    "Without network access, pass path=<folder> with the CIFAR-10 binary version "
    "(data_batch_1.bin ... data_batch_5.bin and test_batch.bin, from cifar-10-binary.tar.gz) "
    "to load_cifar10 or load_cifar10_patches; on the command line, --data-dir <folder>."
)
_PICKLE_NAME = re.compile(r"^(data_batch_\d+|test_batch|batches\.meta)$")
_PICKLE_REFUSAL = (
    "is the CIFAR-10 'python version' (pickle format). keras_svae never unpickles data "
    "(unpickling can run arbitrary code). Use the binary version instead, cifar-10-binary.tar.gz "
    '(data_batch_1.bin ... test_batch.bin), or keras_svae.data.load_cifar10(source="tfds").'
)


def _refuse_pickle(path):
    if path.name == "cifar-10-batches-py" or _PICKLE_NAME.match(path.name):
        raise ValueError(f"{path} {_PICKLE_REFUSAL}")
    if path.is_file():
        with open(path, "rb") as f:
            if f.read(1) == b"\x80":  # pickle protocol >= 2 opcode; a CIFAR label byte is 0-9
                raise ValueError(f"{path} looks like a pickle file: it {_PICKLE_REFUSAL}")


def cifar10_files(path, split="train"):
    """Resolves ``path`` to the binary files of ``split``.

    A folder is searched for ``data_batch_*.bin`` (train) or ``test_batch*.bin``
    (test), also inside a ``cifar-10-batches-bin/`` subfolder. Explicit files
    are used as given, whatever ``split`` says.

    Args:
        path: a folder, one file, or a list of files.
        split: ``"train"`` or ``"test"`` (used for folders only).

    Returns:
        A list of `Path`, in natural order (``data_batch_2`` before ``_10``).
    """
    if isinstance(path, (list, tuple)):
        files = [Path(p) for p in path]
        if not files:
            raise ValueError(f"No CIFAR-10 files given (an empty list). {_HOW_TO_GET}")
    else:
        path = Path(path)
        _refuse_pickle(path)
        if path.is_dir():
            split = lookup(split, tuple(SPLIT_PATTERNS), "split")
            folder = path / "cifar-10-batches-bin"
            folder = folder if folder.is_dir() else path
            files = sorted(folder.glob(SPLIT_PATTERNS[split]), key=_natural_key)
            if not files:
                pickles = [
                    p
                    for p in folder.iterdir()
                    if _PICKLE_NAME.match(p.name) or p.name == "cifar-10-batches-py"
                ]
                if pickles:
                    raise ValueError(f"{pickles[0]} {_PICKLE_REFUSAL}")
                raise FileNotFoundError(
                    f"CIFAR-10 folder {folder} has no {SPLIT_PATTERNS[split]} files for split "
                    f"{split!r}. {_HOW_TO_GET}"
                )
            return files
        files = [path]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"CIFAR-10 file {f} does not exist. {_HOW_TO_GET}")
        _refuse_pickle(f)
    return files


def _natural_key(p):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def read_cifar10_binary(paths):
    """Reads CIFAR-10 binary files.

    Args:
        paths: one file or a list of files.

    Returns:
        uint8 images (n, 32, 32, 3) and uint8 labels (n,).

    Raises:
        ValueError: naming the file, when its size is not a whole number of
            3073-byte records or a label byte is not 0-9.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    images, labels = [], []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 file {path} does not exist. {_HOW_TO_GET}")
        _refuse_pickle(path)
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % RECORD_BYTES:
            raise ValueError(
                f"{path}: {raw.size} bytes is not a whole number of {RECORD_BYTES}-byte CIFAR-10 "
                "records (1 label byte + 3072 pixel bytes); the file is truncated or not CIFAR-10 "
                f"binary. {_HOW_TO_GET}"
            )
        records = raw.reshape(-1, RECORD_BYTES)
        bad = np.flatnonzero(records[:, 0] > 9)
        if bad.size:
            raise ValueError(
                f"{path}: record {bad[0]} has label byte {records[bad[0], 0]}, not 0-9; "
                "not a CIFAR-10 binary file (CIFAR-100's records have 2 label bytes). "
                f"{_HOW_TO_GET}"
            )
        labels.append(records[:, 0])
        # Planar R, G, B planes of 32x32 -> (n, 32, 32, 3).
        images.append(records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def _read(path, source, split, tfds_data_dir, download):
    """``(images, labels, where)`` from the binary files or tfds."""
    source = lookup(
        source or ("binary" if path is not None else "tfds"), SOURCES, "CIFAR-10 source"
    )
    if source == "binary":
        if path is None:
            raise ValueError(f'source="binary" needs path=<folder or files>. {_HOW_TO_GET}')
        files = cifar10_files(path, split)
        images, labels = read_cifar10_binary(files)
        return images, labels, ",".join(str(f) for f in files)
    images, labels = load_tfds_arrays(
        "cifar10",
        split,
        data_dir=tfds_data_dir,
        download=download,
        title="CIFAR-10",
        offline_fix=_OFFLINE_FIX,
    )
    return images, labels, "tfds:cifar10"


def load_cifar10(
    path=None,
    *,
    source=None,
    split="train",
    batch_size=128,
    shuffle=None,
    seed=0,
    scale=True,
    flatten=False,
    with_labels=False,
    drop_remainder=False,
    tfds_data_dir=None,
    download=True,
):
    """Whole CIFAR-10 images, float32 (32, 32, 3) (or (3072,) with ``flatten``).

    Args:
        path: folder (searched per ``split``), one ``.bin`` file, or a list of
            them; implies ``source="binary"``.
        source: ``"binary"`` or ``"tfds"``; default ``"binary"`` when ``path``
            is given, else ``"tfds"``.
        split: ``"train"`` or ``"test"`` (with tfds: any tfds split string).
        batch_size: examples per batch (see `make_dataset`).
        shuffle: reshuffle every epoch; default True for training splits (names
            starting with "train"), else False.
        seed: seeds the shuffle (see `make_dataset`).
        scale: intensities in [0, 1]; False keeps [0, 255].
        flatten: elements of shape (3072,) instead of (32, 32, 3).
        with_labels: elements ``(x, label)``, int32 labels 0-9
            (names in ``info.class_names``).
        drop_remainder: drop the last, smaller batch (static batch shapes).
        tfds_data_dir: passed to ``tfds.load`` (where tfds keeps its data).
        download: passed to ``tfds.load``. Data tfds has not prepared and
            cannot download (no network access) raises `TfdsDownloadError`.

    Returns:
        ``(dataset, info)``; x is float32.

    Raises:
        TfdsDownloadError: a `ConnectionError` naming the binary alternative,
            when tfds has no copy and cannot download one.
    """
    images, labels, where = _read(path, source, split, tfds_data_dir, download)
    element_shape = (int(np.prod(IMAGE_SHAPE)),) if flatten else IMAGE_SHAPE
    shape = [-1, *element_shape]

    def to_float(x, seed):
        x = tf.cast(x, tf.float32)
        return tf.reshape(x / 255.0 if scale else x, shape)

    ds = make_dataset(
        images,
        labels.astype(np.int32) if with_labels else None,
        batch_size=batch_size,
        shuffle=split.startswith("train") if shuffle is None else shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        map_batch=to_float,
    )
    info = DatasetInfo(
        name="cifar10",
        split=split,
        num_examples=len(images),
        batch_size=batch_size,
        element_shape=element_shape,
        value_range=(0.0, 1.0) if scale else (0.0, 255.0),
        with_labels=with_labels,
        class_names=CIFAR10_CLASS_NAMES,
        source=where,
        preprocessing={
            "scale": scale,
            "flatten": flatten,
            "seed": seed,
            "drop_remainder": drop_remainder,
        },
    )
    return ds, info


def load_cifar10_patches(
    path=None,
    *,
    source=None,
    split="train",
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
    with_labels=False,
    batch_size=128,
    shuffle=None,
    seed=0,
    drop_remainder=False,
    preprocessing_from=None,
    tfds_data_dir=None,
    download=True,
):
    """CIFAR-10 patches for sparse coding (e.g. 12x12), see `keras_svae.data.patches`.

    ``mode="random"`` crops ``patches_per_image`` random patches per image;
    ``mode="downsample"`` area-averages each whole 32x32 image to
    ``patch_size`` (``tf.image.resize(method="area")``, since 32/12 is not an
    integer factor). Scale and whitening are fitted on this data for a training
    split (name starting with "train"); for ``split="test"`` pass
    ``preprocessing_from=train_info``, otherwise a ValueError is raised.
    With ``with_labels`` every patch carries its image's class (int32).

    Args:
        path: as in `load_cifar10`.
        source: as in `load_cifar10`.
        split: as in `load_cifar10`.
        patch_size: side of the square patches.
        mode: "random", "downsample" or "centre" (see above and `prepare_patches`).
        patches_per_image: random patches cropped from each image.
        grayscale: convert RGB to one luma channel.
        remove_mean: subtract each patch's own mean.
        normalize: divide by the global std of the (training) patches.
        whiten: None, "pca" or "zca" (see `prepare_patches`).
        n_components: components kept by the whitening (None: all).
        epsilon: the whitening's regulariser (see `Whitening`).
        flatten: vectors (d,) rather than (patch_size, patch_size, channels).
        with_labels: elements ``(x, label)``: the image's class, int32.
        batch_size: examples per batch (see `make_dataset`).
        shuffle: as in `load_cifar10`.
        seed: seeds the crops and the shuffle.
        drop_remainder: drop the last, smaller batch (static batch shapes).
        preprocessing_from: the training patches' `DatasetInfo`, whose scale
            and whitening a test split reuses.
        tfds_data_dir: as in `load_cifar10`.
        download: as in `load_cifar10`.

    Returns:
        ``(dataset, info)``; x is float32.

    Raises:
        ValueError: for a test split without ``preprocessing_from``.
    """
    images, labels, where = _read(path, source, split, tfds_data_dir, download)
    return patch_pipeline(
        images,
        labels,
        name="cifar10_patches",
        split=split,
        source=where,
        class_names=CIFAR10_CLASS_NAMES,
        fit_allowed=split.startswith("train"),
        with_labels=with_labels,
        batch_size=batch_size,
        shuffle=split.startswith("train") if shuffle is None else shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        preprocessing_from=preprocessing_from,
        patch_size=patch_size,
        mode=mode,
        patches_per_image=patches_per_image,
        grayscale=grayscale,
        remove_mean=remove_mean,
        normalize=normalize,
        whiten=whiten,
        n_components=n_components,
        epsilon=epsilon,
        flatten=flatten,
    )
