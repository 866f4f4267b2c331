"""The benchmark's data: MNIST train images and the input pipelines compared."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_svae.data import read_mnist_idx

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def load_mnist(folder, limit=None):
    """MNIST training images as uint8 [n, 784], read by the library's IDX reader."""
    images, _ = read_mnist_idx(folder, "train")
    x = images.reshape(len(images), -1)
    return np.array(x[:limit] if limit else x)


def make_dataset(x, batch_size, seed=0):
    """One shuffled epoch of float32 batches in [0, 1] (the benchmark's pipeline).

    The whole set stays in memory as one uint8 tensor (a quarter of float32's
    size; this in-memory copy is what ``cache()`` would give). Each epoch draws
    one permutation of the indices (a random generator keeps its state across
    epochs, so every epoch is reshuffled), slices it into batches, and each
    batch is one vectorised gather plus a cast, run in parallel and
    prefetched: no per-example work. Dropping the remainder keeps the batch
    shape static, so the step is traced (and XLA-compiled) once.
    """
    images = tf.constant(x)
    n = (len(x) // batch_size) * batch_size
    generator = tf.random.Generator.from_seed(seed)

    def epoch(_):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(x)), seed=generator.make_seeds(1)[:, 0]
        )
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order[:n], [-1, batch_size]))

    return (
        tf.data.Dataset.range(1)
        .flat_map(epoch)
        .apply(tf.data.experimental.assert_cardinality(n // batch_size))
        .map(
            lambda i: tf.cast(tf.gather(images, i), tf.float32) / 255.0,
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def make_elementwise_dataset(x, batch_size, seed=0):
    """The textbook pipeline (cache, per-example shuffle, batch, prefetch)."""
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .cache()
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(lambda b: tf.cast(b, tf.float32) / 255.0, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def fixed_batch_dataset(x, batch_size, steps):
    """The same in-memory batch ``steps`` times: no input pipeline work."""
    batch = tf.constant(x[:batch_size].astype(np.float32) / 255.0)
    return tf.data.Dataset.from_tensors(batch).repeat(steps)
