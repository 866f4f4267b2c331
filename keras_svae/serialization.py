"""Saving a model: its options in a Keras config (names as they are, objects
through Keras), and atomic ``save`` / ``save_weights``.

A SparseVAE's prior, likelihood and networks are each a name or an object; its
``get_config`` must hold either, and a distribution instance (which Keras
cannot serialise) must be refused with the way out rather than half-saved.
"""

import keras
import tensorflow_probability as tfp

from keras_svae.arguments import check_save_path
from keras_svae.files import atomic_path

tfd = tfp.distributions


def serialize_option(value):
    """Config entry for a name or number (kept as is) or a Keras-serialisable object."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, tfd.Distribution):
        raise ValueError(
            "This model's prior is a distribution instance, which cannot be saved. "
            "Pass a factory function registered with "
            "@keras.saving.register_keras_serializable() instead, or use "
            "model.save_weights()."
        )
    return keras.saving.serialize_keras_object(value)


def deserialize_option(value):
    """The inverse of ``serialize_option``."""
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    return value


class AtomicSaving:
    """Mixin for a ``keras.Model``: ``save`` and ``save_weights`` write to a
    temporary file beside the target and rename it onto the target when
    complete, so a failed save leaves an existing file untouched."""

    def save(self, filepath, overwrite=True, **kwargs):
        """``keras.Model.save``, atomically; the path is checked first."""
        check_save_path(filepath)
        with atomic_path(filepath, overwrite=overwrite) as temporary:
            super().save(temporary, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """``keras.Model.save_weights``, atomically like ``save``."""
        check_save_path(filepath, weights=True)
        with atomic_path(filepath, overwrite=overwrite) as temporary:
            super().save_weights(temporary, **kwargs)

    def compile_from_config(self, config):
        """Recompile a loaded model with its saved optimizer (Keras skips models
        that override ``compile`` unless this is overridden too)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)
