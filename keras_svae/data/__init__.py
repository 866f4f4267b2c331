"""Data sets for sparse VAEs: each loader builds a tf.data pipeline for model.fit.

Every ``load_*`` function returns ``(dataset, info)``: a shuffled (seeded),
batched, prefetched ``tf.data.Dataset`` and a ``DatasetInfo`` with the shapes,
value range, class names and the fitted preprocessing.
"""

from keras_svae.data.cifar import (
    CIFAR10_CLASS_NAMES,
    load_cifar10,
    load_cifar10_patches,
    read_cifar10_binary,
)
from keras_svae.data.images import load_image_patches
from keras_svae.data.mnist import load_mnist, read_idx, read_mnist_idx
from keras_svae.data.patches import prepare_patches
from keras_svae.data.pipeline import DatasetInfo, make_dataset, make_epochs_dataset
from keras_svae.data.synthetic import (
    SyntheticPatches,
    load_synthetic,
    paper_synthetic_patches,
    synthetic_patches,
    true_bases,
)
from keras_svae.data.tfds_source import TfdsDownloadError
from keras_svae.data.toy import load_toy, make_toy_images
from keras_svae.data.whitening import Whitening

__all__ = [
    "TfdsDownloadError",
    "CIFAR10_CLASS_NAMES",
    "DatasetInfo",
    "SyntheticPatches",
    "Whitening",
    "load_cifar10",
    "load_cifar10_patches",
    "load_image_patches",
    "load_mnist",
    "load_synthetic",
    "load_toy",
    "make_dataset",
    "make_epochs_dataset",
    "make_toy_images",
    "paper_synthetic_patches",
    "prepare_patches",
    "read_cifar10_binary",
    "read_idx",
    "read_mnist_idx",
    "synthetic_patches",
    "true_bases",
]
