"""Priors and posterior families by name, and the KL closed form TFP lacks.

The paper's three variants differ only in these two choices:

| variant       | prior p(z)    | posterior q(z given x) |
|---------------|---------------|------------------------|
| standard VAE  | Normal(0, s)  | Normal(mu, sigma)      |
| Laplace SVAE  | Laplace(0, s) | Normal(mu, sigma)      |
| Cauchy SVAE   | Cauchy(0, s)  | Cauchy(loc, scale)     |

Importing this module registers KL(Normal || Laplace) with TFP, so
``tfd.kl_divergence`` works for the Laplace SVAE like it does for the other two.
"""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.names import POSTERIORS, PRIORS, lookup
from keras_svae.validation import check_scale

tfd = tfp.distributions


_PRIOR_CLASSES = {"normal": tfd.Normal, "laplace": tfd.Laplace, "cauchy": tfd.Cauchy}
_POSTERIOR_CLASSES = {"normal": tfd.Normal, "cauchy": tfd.Cauchy}

# Lower bound added to the softplus of the encoder's scale output, so the
# posterior never collapses to a point (log q would be +inf there).
SCALE_FLOOR = 1e-4


@tfd.RegisterKL(tfd.Normal, tfd.Laplace)
def _kl_normal_laplace(q, p, name=None):
    """KL(Normal(mu, sigma) || Laplace(m, b)) in closed form.

    E_q[log q] = -log(sigma) - 0.5 log(2 pi e), and
    E_q[log p] = -log(2 b) - E_q|z - m| / b, where |z - m| is folded-normal with
    mean sigma sqrt(2/pi) exp(-d^2 / (2 sigma^2)) + d erf(d / (sigma sqrt 2)),
    d = mu - m. Hence
    KL = log(2 b / sigma) - 0.5 log(2 pi e) + E|z - m| / b.
    """
    with tf.name_scope(name or "kl_normal_laplace"):
        dtype = q.dtype
        sigma = tf.convert_to_tensor(q.scale, dtype)
        b = tf.convert_to_tensor(p.scale, dtype)
        d = tf.convert_to_tensor(q.loc, dtype) - tf.convert_to_tensor(p.loc, dtype)
        ratio = d / sigma
        folded_mean = sigma * math.sqrt(2.0 / math.pi) * tf.exp(
            -0.5 * tf.square(ratio)
        ) + d * tf.math.erf(ratio / math.sqrt(2.0))
        return (
            tf.math.log(2.0 * b)
            - tf.math.log(sigma)
            - 0.5 * math.log(2.0 * math.pi * math.e)
            + folded_mean / b
        )


def _as_vector_distribution(distribution, latent_dim, what):
    """Return ``distribution`` with event shape [latent_dim].

    A factorised distribution with batch shape [latent_dim] and scalar events is
    wrapped in ``tfd.Independent`` so its log_prob sums over the latent axis.
    """
    if not isinstance(distribution, tfd.Distribution):
        raise ValueError(
            f"{what} must be a tfp.distributions.Distribution, got {type(distribution).__name__}."
        )
    event = distribution.event_shape
    batch = distribution.batch_shape
    if event.rank == 0 and batch.as_list() == [latent_dim]:
        return tfd.Independent(distribution, reinterpreted_batch_ndims=1)
    if event.as_list() == [latent_dim] and batch.rank == 0:
        return distribution
    raise ValueError(
        f"{what} must have event shape [{latent_dim}] (or batch shape "
        f"[{latent_dim}] with scalar events) to match latent_dim={latent_dim}; got "
        f"batch shape {batch} and event shape {event}."
    )


def make_prior(prior, latent_dim, scale=1.0, dtype="float32"):
    """Build the prior p(z) as a distribution with event shape [latent_dim].

    Args:
        prior: "normal", "laplace" or "cauchy" (centred at 0 with ``scale``); a
            ``tfd.Distribution``; or a callable ``factory(latent_dim, dtype)``
            returning one.
        latent_dim: number of latent variables.
        scale: the named prior's scale (ignored for distributions and factories).
        dtype: floating dtype of the distribution's parameters.

    Returns:
        A ``tfd.Distribution`` whose ``log_prob(z)`` sums over the latent axis.

    Example:
        >>> make_prior("laplace", 10).sample(3).shape
        TensorShape([3, 10])
    """
    if isinstance(prior, tfd.Distribution) or callable(prior):
        distribution = prior if isinstance(prior, tfd.Distribution) else prior(latent_dim, dtype)
        distribution = _as_vector_distribution(distribution, latent_dim, "prior")
        if distribution.dtype != tf.as_dtype(dtype):
            raise ValueError(
                f"The prior has dtype {distribution.dtype.name}, but the model computes in "
                f"{tf.as_dtype(dtype).name}. Build it with {tf.as_dtype(dtype).name} parameters, "
                "e.g. tfd.Laplace(tf.zeros(latent_dim), 1.0)."
            )
        return distribution
    name = lookup(prior, PRIORS, "prior")
    scale = check_scale(scale, "prior_scale")
    loc = tf.zeros([latent_dim], dtype=dtype)
    base = _PRIOR_CLASSES[name](loc=loc, scale=tf.cast(scale, dtype))
    return tfd.Independent(base, reinterpreted_batch_ndims=1)


def make_posterior(posterior, loc, scale):
    """Build q(z given x) = Independent(family(loc, scale)) over the latent axis."""
    name = lookup(posterior, POSTERIORS, "posterior")
    return tfd.Independent(
        _POSTERIOR_CLASSES[name](loc=loc, scale=scale), reinterpreted_batch_ndims=1
    )


def positive_scale(raw):
    """Map an unconstrained encoder output to a scale: softplus plus a floor."""
    return keras.ops.softplus(raw) + SCALE_FLOOR
