"""The one place where in-memory arrays become a `tf.data.Dataset` for ``model.fit``.

Every loader in ``keras_svae.data`` reads or generates its examples into numpy
arrays, applies its fitted preprocessing once, and then calls `make_dataset`,
so shuffling, seeding, batching and prefetching behave identically for every
data set. Loaders return ``(dataset, info)``; `DatasetInfo` records what a
model, a figure or an exported decoder needs to know about the data (shapes,
value range, class names, and the fitted preprocessing that must be undone to
show samples in pixel space).

Design: the examples live in one in-memory tensor and the pipeline shuffles and
batches *indices* and gathers whole batches. That keeps the shuffle buffer tiny
(one int64 per example, so a full-data-set shuffle is cheap) and lets per-batch
work such as dynamic binarisation run vectorised on a batch rather than per
example.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_svae.validation import check_positive_int, check_seed


def make_dataset(
    features,
    labels=None,
    *,
    batch_size=128,
    shuffle=True,
    seed=0,
    drop_remainder=False,
    map_batch=None,
):
    """Builds a shuffled (seeded), batched, prefetched dataset from in-memory arrays.

    Args:
        features: array of shape (n, ...); stored once as a tensor.
        labels: optional array of shape (n, ...); when given the elements are
            ``(x, label)`` pairs, otherwise just ``x``.
        batch_size: examples per batch.
        shuffle: reshuffle the examples at every pass (epoch). The sequence of
            orders is reproducible from ``seed``.
        seed: seeds the shuffle and the per-batch seeds given to ``map_batch``.
        drop_remainder: drop the last, smaller batch (gives static batch shapes).
        map_batch: optional ``fn(x_batch, seed) -> x_batch`` run on every batch
            of features (not labels), e.g. scaling or stochastic binarisation.
            ``seed`` is an int64 tensor of shape [2] for ``tf.random.stateless_*``
            ops; it differs for every batch and every pass over the data and is
            reproducible from ``seed``.

    Returns:
        A `tf.data.Dataset` whose elements are ``x`` or ``(x, label)`` batches.
    """
    features = np.asarray(features)
    if features.ndim == 0 or not (
        np.issubdtype(features.dtype, np.number) or features.dtype == np.bool_
    ):
        raise ValueError(
            f"make_dataset needs numeric features of shape (n, ...), got dtype "
            f"{features.dtype} and shape {features.shape}."
        )
    n = len(features)
    if n == 0:
        raise ValueError(
            f"make_dataset got no examples (features of shape {features.shape}). Pass at least "
            "one example."
        )
    if np.issubdtype(features.dtype, np.inexact) and not np.all(np.isfinite(features)):
        raise ValueError(
            "make_dataset got features with NaN or Inf values. Remove or impute them first "
            "(e.g. np.nan_to_num, or drop those examples)."
        )
    if map_batch is not None and not callable(map_batch):
        raise ValueError(f"map_batch must be a function fn(x, seed), got {map_batch!r}.")
    seed = check_seed(seed, allow_none=False)
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != n:
            raise ValueError(
                f"make_dataset got {n} examples but {len(labels)} labels. Pass one label per "
                "example, or labels=None."
            )
    batch_size = check_positive_int(batch_size, "batch_size")
    if drop_remainder and n < batch_size:
        raise ValueError(
            f"drop_remainder=True with {n} examples and batch_size={batch_size} leaves no batch. "
            f"Use batch_size <= {n} or drop_remainder=False."
        )

    x_all = tf.constant(features)
    y_all = None if labels is None else tf.constant(labels)

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if map_batch is not None:
        # Two int64 per batch, a fresh stream at every pass, reproducible from seed.
        seeds = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds)

    def gather(idx, batch_seed=None):
        x = tf.gather(x_all, idx)
        if map_batch is not None:
            x = map_batch(x, batch_seed)
        if y_all is None:
            return x
        return x, tf.gather(y_all, idx)

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_epochs_dataset(features, batch_size=128, seed=0, epochs=1, first_epoch=0):
    """The batches of epochs ``first_epoch`` .. ``epochs - 1`` as one finite dataset.

    Each epoch's order is a stateless function of ``(seed, epoch)``, so a run
    resumed at epoch k (``first_epoch=k``) sees exactly the batches an
    uninterrupted run sees from epoch k on. ``make_dataset`` reshuffles by
    counting passes instead, and Keras creates its iterators ahead of the
    epochs, so a restarted process cannot replay those. Train with
    ``model.fit(ds, epochs=epochs, steps_per_epoch=ceil(n / batch_size))``.

    Args:
        features: array of shape (n, ...).
        batch_size: examples per batch (an epoch's last batch may be smaller).
        seed: seeds every epoch's order.
        epochs: the number of epochs of the whole run.
        first_epoch: the first epoch to yield (0 for a fresh run).

    Returns:
        A ``tf.data.Dataset`` of ``x`` batches.
    """
    features = np.asarray(features)
    n = len(features)
    if n == 0:
        raise ValueError("make_epochs_dataset got no examples. Pass at least one example.")
    batch_size = check_positive_int(batch_size, "batch_size")
    epochs = check_positive_int(epochs, "epochs")
    if isinstance(first_epoch, bool) or not 0 <= int(first_epoch) < epochs:
        raise ValueError(f"first_epoch must be in [0, {epochs}), got {first_epoch!r}.")
    x_all = tf.constant(features)
    seed = tf.constant(int(seed), tf.int64)

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    ds = tf.data.Dataset.range(int(first_epoch), epochs).flat_map(one_epoch)
    ds = ds.map(lambda idx: tf.gather(x_all, idx), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)  # fmt: skip
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a loader produced: returned next to the dataset by every public loader.

    Attributes:
        name: data set name, e.g. ``"mnist"``, ``"cifar10_patches"``.
        split: ``"train"``, ``"test"`` or a description (``"generated"``).
        num_examples: examples in one pass over the dataset.
        batch_size: examples per batch.
        element_shape: shape of one ``x`` (without the batch dimension); x is float32.
        value_range: ``(min, max)`` of x: nominal for pixel data, observed for
            preprocessed patches.
        with_labels: whether elements are ``(x, label)`` pairs.
        label_shape: shape of one label (``()`` for class labels).
        class_names: names of the label values (for image folders: the file
            each patch came from), or None.
        source: where the data came from (folder, files, or ``tfds:<name>``).
        scale: patches were divided by this number (the training patches' std);
            None when no global scaling was applied.
        whitening: the fitted `Whitening` applied after scaling, or None.
        preprocessing: plain, JSON-serialisable description of the settings.
        extra: anything loader-specific (e.g. the toy data's templates).
    """

    name: str
    split: str
    num_examples: int
    batch_size: int
    element_shape: tuple
    value_range: tuple
    with_labels: bool = False
    label_shape: tuple = ()
    class_names: tuple = None
    source: str = ""
    scale: float = None
    whitening: object = None
    preprocessing: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def steps_per_epoch(self):
        """Batches in one pass (counting a last, smaller batch unless it is dropped)."""
        if self.preprocessing.get("drop_remainder"):
            return self.num_examples // self.batch_size
        return -(-self.num_examples // self.batch_size)

    def undo_preprocessing(self, x, difference=False):
        """Maps model-space vectors back to (mean-removed) pixel space for figures.

        Inverts whitening, then global scaling. Per-patch mean removal cannot be
        undone (the means are not kept). Input of shape (n, *element_shape) or
        (n, d); returns float32 of shape (n, d) where d is the pixel dimension,
        to be reshaped with ``preprocessing["patch_shape"]`` when present.

        ``difference=True`` maps differences of vectors, such as a latent's
        pattern decode(e_k) - decode(0): only the linear part of the inverse
        applies, since the whitening mean cancels in a difference (adding it
        would shift every pattern by the mean patch).
        """
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(len(x), -1)
        if self.whitening is not None and difference:
            x = x @ self.whitening.dewhitening_matrix
        elif self.whitening is not None:
            x = self.whitening.inverse_transform(x)
        if self.scale is not None:
            x = x * self.scale
        return x.astype(np.float32)

    def to_config(self):
        """JSON-serialisable dict, fitted whitening included (for exported decoders)."""
        return {
            "name": self.name,
            "split": self.split,
            "num_examples": self.num_examples,
            "batch_size": self.batch_size,
            "element_shape": list(self.element_shape),
            "value_range": [float(v) for v in self.value_range],
            "with_labels": self.with_labels,
            "label_shape": list(self.label_shape),
            "class_names": None if self.class_names is None else list(self.class_names),
            "source": self.source,
            "scale": self.scale,
            "whitening": None if self.whitening is None else self.whitening.get_config(),
            "preprocessing": dict(self.preprocessing),
        }
