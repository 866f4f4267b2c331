"""Keras callbacks for watching a sparse VAE train in TensorBoard.

``keras.callbacks.TensorBoard`` already plots the three losses (``loss``,
``reconstruction``, ``kl``); ``ImageSummaries`` adds what the paper's figures
show, per epoch: inputs over their reconstructions, and each latent's pattern.
"""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_svae.evaluation import latent_patterns
from keras_svae.plots import as_images


def _to_unit_range(images):
    """Scale each image to [0, 1] and give it a channel axis, for tf.summary.image."""
    images = np.asarray(images, dtype=np.float32)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    high = images.max(axis=axes, keepdims=True)
    images = (images - low) / np.maximum(high - low, 1e-12)
    return images[..., None] if images.ndim == 3 else images


class ImageSummaries(keras.callbacks.Callback):
    """Log reconstructions and latent patterns as TensorBoard images.

    Args:
        log_dir: TensorBoard folder (images go to ``log_dir/images``).
        x: a few examples (numpy) to reconstruct each time.
        every: log every this many epochs.
        image_shape: how to show flat examples, e.g. (28, 28); square sizes are
            inferred.
        display: optional function mapping model-space arrays to images (e.g.
            ``info.undo_preprocessing`` for whitened patches).

    Example:
        >>> model.fit(x, epochs=10, callbacks=[keras.callbacks.TensorBoard("logs"),
        ...                                    ImageSummaries("logs", x[:8])])
    """

    def __init__(self, log_dir, x, every=1, image_shape=None, display=None):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}.")
        self.x = np.asarray(x, dtype=np.float32)
        if len(self.x) == 0:
            raise ValueError("ImageSummaries needs at least one example in x.")
        self.every = int(every)
        self.image_shape = image_shape
        self.display = display or (lambda a: a)
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images"))

    def _images(self, arrays):
        return _to_unit_range(as_images(self.display(np.asarray(arrays)), self.image_shape))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        reconstructions = np.asarray(self.model.reconstruct(self.x))
        pairs = np.concatenate([self._images(self.x), self._images(reconstructions)], axis=2)
        patterns = self._images(latent_patterns(self.model))
        with self.writer.as_default():
            tf.summary.image("reconstructions", pairs, step=epoch, max_outputs=len(pairs))
            tf.summary.image("patterns", patterns, step=epoch, max_outputs=len(patterns))
        self.writer.flush()
