"""Reads a whole `tensorflow_datasets` split into numpy arrays.

MNIST and CIFAR-10 fit in memory, so the tfds path ends in the same arrays as
the file readers and both go through the same preprocessing and the same
`make_dataset`; the two sources therefore give identical pipelines.
tensorflow_datasets is imported lazily: it is slow to import and only this
source needs it.
"""

import numpy as np


def load_tfds_arrays(name, split, *, data_dir=None, download=True, offline_hint=""):
    """Reads a supervised tfds image data set into numpy arrays.

    Args:
        name: tfds name, e.g. ``"mnist"`` or ``"cifar10"``.
        split: tfds split, e.g. ``"train"``, ``"test"`` or ``"train[:10%]"``.
        data_dir: tfds data directory (default: tfds' own, ``~/tensorflow_datasets``).
        download: let tfds download and prepare the data if it is missing.
        offline_hint: appended to tfds' error message (how to use local files).

    Returns:
        ``(images, labels)`` numpy arrays.
    """
    import tensorflow_datasets as tfds

    try:
        ds = tfds.load(name, split=split, as_supervised=True, data_dir=data_dir, download=download)
        # Batched reading rather than batch_size=-1, which tfds' mock_data cannot serve.
        chunks = list(tfds.as_numpy(ds.batch(10_000)))
    except Exception as err:  # tfds raises many types (network, missing data, bad split)
        if offline_hint:
            err.add_note(f"keras_svae: tfds.load({name!r}, split={split!r}) failed. {offline_hint}")
        raise
    if not chunks:
        raise ValueError(
            f"tfds.load({name!r}, split={split!r}) returned no examples. Check the split "
            "(e.g. 'train' or 'test[:10%]')."
        )
    images = np.concatenate([c[0] for c in chunks])
    labels = np.concatenate([c[1] for c in chunks])
    return images, labels
