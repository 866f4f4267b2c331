"""Exact zeros by thresholding posterior samples (Fallah and Rozell, ICML 2022).

A Normal or Laplace posterior never draws an exact 0, so its codes are dense.
Soft-thresholding each draw s = mu + e (``on="sample"``, the default, the
shrinkage ISTA applies to a code) gives codes with exact zeros:

    z = sign(s) (|s| - lambda)   where |s| > lambda,
    z = 0                        where |s| <= lambda.

``on="noise"`` thresholds the noise part instead, z = mu + sign(e)(|e| -
lambda) where |e| > lambda and 0 elsewhere (for a Laplace base exactly a
spike-and-slab: 0 with probability 1 - exp(-lambda / b)); measured, it trains
badly (see ``TARGETS``). The thresholding is not differentiable, so gradients
are straight-through: by default the sample's gradient is the base draw's
(the paper "skips the gradient of the shifted soft-threshold").

The threshold lambda is a number or a per-latent tensor (a variable when it is
learned); a learned lambda gets a Gamma prior whose term ``threshold_kl`` adds
to the loss.
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.distributions import inner_distribution
from keras_svae.validation import check_number

tfd = tfp.distributions

GRADIENTS = ("straight_through", "shifted")
# Gamma(concentration, rate) prior of learned thresholds: mean 0.1, mode 0.05.
THRESHOLD_PRIOR = (2.0, 20.0)
# What the soft threshold acts on: the whole draw s = mu + e (the default), or
# its noise part e alone. Measured on the synthetic patches (Laplace prior and
# posterior, threshold 0.1, 8 epochs): thresholding the noise drove the
# posterior scale to its floor (KL 170 -> 1,250 nats, reconstruction term 540
# against -21 without a threshold), because shrinking the scale zeroes codes
# whatever mu is and the straight-through gradient does not see that cost;
# thresholding the draw trained like the unthresholded model (-21.4) with
# 8% exact zeros in the draws and 25% in the thresholded locations.
TARGETS = ("sample", "noise")


def soft_threshold(x, threshold):
    """sign(x) max(|x| - threshold, 0): the L1 proximal map (exact zeros inside)."""
    return tf.sign(x) * tf.nn.relu(tf.abs(x) - threshold)


def _base_family(distribution):
    inner = inner_distribution(distribution)
    if not isinstance(inner, (tfd.Normal, tfd.Laplace)):
        raise ValueError(
            "Thresholded samples need a Normal or Laplace posterior (location-scale with a "
            f"finite mean); got {type(inner).__name__}. Use posterior='normal' or 'laplace'."
        )
    return inner


class Thresholded(tfd.Distribution):
    """A Normal or Laplace posterior whose samples are thresholded to exact zeros.

    Args:
        distribution: the base posterior, ``Independent(Normal or Laplace)``
            (event shape [latent_dim]) or a bare Normal / Laplace.
        threshold: lambda >= 0: a number, or a tensor / variable broadcastable
            to the base's location (e.g. one per latent, [latent_dim]).
        gradient: "straight_through" (default; the paper's: a sample's
            gradient with respect to mu, sigma is the base draw's, and lambda
            gets none from the samples) or "shifted" (non-zero entries carry
            the exact gradient of mu + sign(e)(|e| - lambda), so a learned
            lambda also learns from the reconstruction; zeroed entries stay
            straight-through).
        on: what the soft threshold acts on: "sample" (default; the whole
            draw mu + e) or "noise" (e alone); see ``TARGETS`` for why.
        name: the name of the distribution's ops.

    ``sample`` draws thresholded codes; ``sample_with_base`` also returns the
    base draws, on which a sampled KL must be estimated (the thresholded
    distribution has a point mass at 0, so ``log_prob`` is not defined for
    it). ``mode()`` is the soft-thresholded location
    sign(mu) max(|mu| - lambda, 0). ``kl_divergence(Thresholded(q), p)`` is
    registered as KL(q || p), the base's KL (Fallah and Rozell's loss).
    ``zero_probability()`` is P(z = 0) per latent.

    Examples:
        >>> from keras_svae import make_posterior
        >>> q = Thresholded(make_posterior("laplace", [[0.05, 2.0]], [[0.1, 0.1]]), 0.1)
        >>> z = q.sample(4, seed=(1, 2))  # exact zeros where |mu + e| <= 0.1
        >>> q.mode().numpy()  # the soft-thresholded location
        array([[0. , 1.9]], dtype=float32)
    """

    def __init__(
        self, distribution, threshold, gradient="straight_through", on="sample", name="Thresholded"
    ):
        parameters = dict(locals())
        if not isinstance(distribution, tfd.Distribution):
            raise ValueError(
                f"distribution must be a tfp Distribution, got {type(distribution).__name__}."
            )
        self._inner = _base_family(distribution)
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}.")
        if isinstance(threshold, (bool, str, bytes)):
            check_number(threshold, "threshold", minimum=0.0)  # raises
        if not (tf.is_tensor(threshold) or isinstance(threshold, tf.Variable)):
            values = np.asarray(threshold, dtype=np.float64)  # numbers, lists, arrays
            if not np.all(np.isfinite(values) & (values >= 0)):
                raise ValueError(
                    f"threshold must be a finite number >= 0 (or an array of them), got "
                    f"{threshold!r}."
                )
        self._distribution = distribution
        self._gradient = gradient
        if on not in TARGETS:
            raise ValueError(f"on must be one of {TARGETS}, got {on!r}.")
        self._on = on
        with tf.name_scope(name) as name:
            self._threshold = tf.convert_to_tensor(threshold, dtype=distribution.dtype)
            super().__init__(
                dtype=distribution.dtype,
                reparameterization_type=tfd.FULLY_REPARAMETERIZED,
                validate_args=False,
                allow_nan_stats=True,
                parameters=parameters,
                name=name,
            )

    @property
    def distribution(self):
        """The base (un-thresholded) posterior."""
        return self._distribution

    @property
    def threshold(self):
        return self._threshold

    @property
    def loc(self):
        return self._inner.loc

    @property
    def scale(self):
        return self._inner.scale

    def _batch_shape(self):
        return self._distribution.batch_shape

    def _batch_shape_tensor(self):
        return self._distribution.batch_shape_tensor()

    def _event_shape(self):
        return self._distribution.event_shape

    def _event_shape_tensor(self):
        return self._distribution.event_shape_tensor()

    def threshold_samples(self, base):
        """Threshold base draws ``base`` (any leading sample axes)."""
        loc = tf.convert_to_tensor(self._inner.loc)
        if self._on == "sample":  # the whole draw: measured in TARGETS' comment
            loc = tf.zeros_like(loc)
        noise = base - loc
        keep = tf.abs(noise) > self._threshold
        if self._gradient == "shifted":
            zero = base - tf.stop_gradient(base)  # exactly 0, the base draw's gradient
            shifted = loc + tf.sign(noise) * (tf.abs(noise) - self._threshold)
            return tf.where(keep, shifted, zero)
        hard = tf.where(keep, loc + soft_threshold(noise, self._threshold), tf.zeros_like(base))
        # base + (0 - base) is exactly 0, so the zeros stay exact.
        return base + tf.stop_gradient(hard - base)

    def sample_with_base(self, sample_shape=(), seed=None):
        """(thresholded draws, base draws) from one set of base draws."""
        base = self._distribution.sample(sample_shape, seed=seed)
        return self.threshold_samples(base), base

    def _sample_n(self, n, seed=None):
        return self.threshold_samples(self._distribution.sample(n, seed=seed))

    def _mode(self):
        # The thresholded location sign(mu) max(|mu| - lambda, 0): the draw at
        # zero noise (on="sample"), the code a sparse coder infers.
        loc = tf.convert_to_tensor(self._inner.loc)
        return soft_threshold(loc, self._threshold)

    def zero_probability(self):
        """P(z = 0) per latent: P(|mu + e| <= lambda) from the base's CDF
        (on="sample"), or P(|e| <= lambda) (on="noise"): erf(lambda /
        (sigma sqrt 2)) for a Normal base, 1 - exp(-lambda / b) for a Laplace."""
        if self._on == "sample":  # P(|mu + e| <= lambda)
            return self._inner.cdf(self._threshold) - self._inner.cdf(-self._threshold)
        scale = tf.convert_to_tensor(self._inner.scale)
        if isinstance(self._inner, tfd.Normal):
            return tf.math.erf(self._threshold / (scale * math.sqrt(2.0)))
        return -tf.math.expm1(-self._threshold / scale)

    def _log_prob(self, x):
        raise NotImplementedError(
            "A thresholded posterior has a point mass at 0, so log_prob is not defined for "
            "it. Estimate a sampled KL on the base draws: z, base = q.sample_with_base(n, "
            "seed); kl_divergence(q.distribution, prior, base, mode='sampled')."
        )


@tfd.RegisterKL(Thresholded, tfd.Distribution)
def _kl_thresholded(q, p, name=None):
    """KL of the base posterior (the loss Fallah and Rozell train with): the
    thresholded distribution's own KL to a continuous prior is infinite.
    Raises NotImplementedError where the base pair has no closed form, so the
    model falls back to the sampled estimate on base draws."""
    with tf.name_scope(name or "kl_thresholded"):
        return tfd.kl_divergence(q.distribution, p)


def threshold_kl(threshold, concentration, rate):
    """The Gamma(concentration, rate) prior's term for learned thresholds.

    Args:
        threshold: the thresholds lambda > 0 (e.g. a [latent_dim] variable),
            or a ``tfd.Gamma`` variational posterior over them.
        concentration: the Gamma prior's concentration (> 0).
        rate: the Gamma prior's rate (> 0); its mean is concentration / rate.

    Returns:
        A scalar to add to the per-example loss (weighted like the KL). For a
        Gamma posterior, the closed-form KL(q(lambda) || Gamma prior) summed
        over latents. For point thresholds, -sum log Gamma(lambda) (the KL of
        a point mass up to its constant, infinite entropy): the MAP penalty,
        whose gradient pulls lambda towards the prior's mode and keeps it
        positive.
    """
    concentration = check_number(concentration, "concentration")
    rate = check_number(rate, "rate")
    if concentration <= 0 or rate <= 0:
        raise ValueError(
            f"The Gamma prior needs concentration > 0 and rate > 0, got {concentration!r} "
            f"and {rate!r}."
        )
    if isinstance(threshold, tfd.Gamma):
        prior = tfd.Gamma(tf.cast(concentration, threshold.dtype), tf.cast(rate, threshold.dtype))
        return tf.reduce_sum(tfd.kl_divergence(threshold, prior))
    threshold = tf.convert_to_tensor(threshold)
    if not threshold.dtype.is_floating:
        threshold = tf.cast(threshold, tf.float32)
    prior = tfd.Gamma(tf.cast(concentration, threshold.dtype), tf.cast(rate, threshold.dtype))
    return -tf.reduce_sum(prior.log_prob(threshold))
