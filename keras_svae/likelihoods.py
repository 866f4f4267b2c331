"""Observation models p(x given z) that turn decoder outputs into distributions.

Each likelihood is a Keras layer so a learned noise scale is a tracked weight that
saves and loads with the model. The decoder emits one number per data value; the
likelihood says what that number means (Bernoulli logits, Gaussian mean).
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.names import LIKELIHOODS, lookup
from keras_svae.validation import (
    MAX_DATA_MAGNITUDE,
    check_data_array,
    check_scale,
    data_error_message,
)

tfd = tfp.distributions


class Likelihood(keras.layers.Layer):
    """Base class: ``distribution(outputs)`` is p(x given z) over a whole example."""

    def distribution(self, outputs, event_ndims):
        """The TFP distribution of x given decoder ``outputs`` ([..., *data_shape])."""
        raise NotImplementedError

    def log_prob(self, x, outputs, event_ndims):
        """log p(x given z), summed over the ``event_ndims`` data axes."""
        return self.distribution(outputs, event_ndims).log_prob(x)

    def mean(self, outputs):
        """The expected data value given decoder outputs (what figures show)."""
        raise NotImplementedError

    def check_array(self, x):
        """Return numpy data ``x`` checked for this likelihood: finite, not so
        large that float32 overflows, and (in subclasses) in the likelihood's
        support. Raises a ValueError that names the fix."""
        return check_data_array(x)

    def check_tensor(self, x):
        """The same checks as ``check_array`` as TF ops, for data flowing through
        a ``tf.data`` pipeline: returns ``x`` with the checks as control
        dependencies (a failed check raises when the element is produced)."""
        x32 = tf.cast(x, tf.float32)
        checks = [
            tf.debugging.assert_all_finite(
                x32,
                data_error_message(
                    "The data contains NaN or Inf values. Remove or impute them before training."
                ),
            ),
            tf.debugging.assert_less_equal(
                tf.reduce_max(tf.abs(x32)),
                tf.constant(MAX_DATA_MAGNITUDE, tf.float32),
                message=data_error_message(
                    f"The data exceeds |x| = {MAX_DATA_MAGNITUDE:g}, where float32 losses and "
                    "gradients overflow. Standardise or rescale it (e.g. x / x.std())."
                ),
            ),
            *self.support_checks(x32),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(x)

    def support_checks(self, x):
        """TF assertions that float32 data ``x`` lies in the likelihood's support."""
        return []

    def call(self, outputs):
        return self.mean(outputs)


@keras.saving.register_keras_serializable(package="keras_svae")
class BernoulliLikelihood(Likelihood):
    """x in [0, 1] with Bernoulli(logits) per value, as for (binarised) MNIST.

    Grey values in [0, 1] are allowed: the log-likelihood is then the negative
    binary cross-entropy, the usual continuous relaxation.
    """

    def distribution(self, outputs, event_ndims):
        return tfd.Independent(
            tfd.Bernoulli(logits=outputs, dtype=outputs.dtype),
            reinterpreted_batch_ndims=event_ndims,
        )

    def log_prob(self, x, outputs, event_ndims):
        """x * l - softplus(l) summed over the data axes: TFP's Bernoulli
        log_prob, -softplus(-l) x - softplus(l) (1 - x), in one softplus and
        no masking (x is checked to lie in [0, 1] before training)."""
        x = tf.cast(x, outputs.dtype)
        per_value = x * outputs - tf.math.softplus(outputs)
        return tf.reduce_sum(per_value, axis=list(range(-event_ndims, 0)))

    def mean(self, outputs):
        return keras.ops.sigmoid(outputs)

    def check_array(self, x):
        x = super().check_array(x)
        low, high = float(np.min(x)), float(np.max(x))
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"likelihood='bernoulli' needs data in [0, 1], but the data spans "
                f"[{low:g}, {high:g}]. Scale it to [0, 1] (e.g. divide pixels by "
                "255) or use likelihood='gaussian'."
            )
        return x

    def support_checks(self, x):
        return [
            tf.debugging.assert_less_equal(
                tf.reduce_max(tf.abs(x - 0.5)),
                0.5,
                message=data_error_message(
                    "likelihood='bernoulli' needs data in [0, 1]. Scale it to [0, 1] (e.g. "
                    "divide pixels by 255) or use likelihood='gaussian'."
                ),
            )
        ]


@keras.saving.register_keras_serializable(package="keras_svae")
class GaussianLikelihood(Likelihood):
    """x = decoder(z) + Normal noise, with a fixed or a learned scalar scale.

    The fixed scale is the sparse-coding generative model x = A z + noise; a
    learned scale lets the model find the noise level itself.

    Args:
        scale: the noise standard deviation (the initial value when learned).
        learn_scale: train the scale as a weight (stored as its logarithm).
        **kwargs: ``keras.layers.Layer`` keyword arguments (``name``, ``dtype``).
    """

    def __init__(self, scale=1.0, learn_scale=False, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = check_scale(scale, "likelihood_scale")
        self.learn_scale = bool(learn_scale)
        self.log_scale = None
        if self.learn_scale:
            self.log_scale = self.add_weight(
                name="log_scale",
                shape=(),
                initializer=keras.initializers.Constant(math.log(self.initial_scale)),
            )

    @property
    def scale(self):
        """The current noise standard deviation as a tensor."""
        if self.learn_scale:
            return keras.ops.exp(self.log_scale)
        return keras.ops.convert_to_tensor(self.initial_scale, dtype=self.dtype)

    def distribution(self, outputs, event_ndims):
        scale = tf.cast(self.scale, outputs.dtype)
        return tfd.Independent(
            tfd.Normal(loc=outputs, scale=scale), reinterpreted_batch_ndims=event_ndims
        )

    def mean(self, outputs):
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.initial_scale, learn_scale=self.learn_scale)
        return config


def make_likelihood(likelihood, scale=1.0, learn_scale=False):
    """A likelihood layer from a name, or the given layer itself.

    Args:
        likelihood: "bernoulli", "gaussian" (any case) or a ``Likelihood``
            layer, which is returned as is.
        scale: the Gaussian noise standard deviation (ignored by Bernoulli).
        learn_scale: train the Gaussian scale instead of fixing it.

    Returns:
        A ``Likelihood`` layer: p(x given z) from the decoder's outputs.

    Raises:
        ValueError: for an unknown name, naming the valid ones.
    """
    if isinstance(likelihood, Likelihood):
        return likelihood
    name = lookup(likelihood, LIKELIHOODS, "likelihood")
    if name == "bernoulli":
        return BernoulliLikelihood()
    return GaussianLikelihood(scale=scale, learn_scale=learn_scale)
