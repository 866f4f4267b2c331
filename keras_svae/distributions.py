"""Priors and posterior families by name, and the KL closed form TFP lacks.

The paper's three variants differ only in these two choices:

| variant       | prior p(z)    | posterior q(z given x) |
|---------------|---------------|------------------------|
| standard VAE  | Normal(0, s)  | Normal(mu, sigma)      |
| Laplace SVAE  | Laplace(0, s) | Normal(mu, sigma)      |
| Cauchy SVAE   | Cauchy(0, s)  | Cauchy(loc, scale)     |

Importing this module registers KL(Normal || Laplace) with TFP, so
``tfd.kl_divergence`` works for the Laplace SVAE like it does for the other two.

Beyond the paper: priors "student_t" (``df``; 1 is Cauchy), "spike_slab"
(``slab_probability``, see ``keras_svae.spike_slab``) and "horseshoe"; the
"laplace" and "spike_slab" posteriors (built from encoder outputs by
``keras_svae.posteriors``). Closed forms TFP lacks are registered here too:
KL(Laplace || Normal) and KL(Normal or Laplace || spike-and-slab). A
spike-and-slab posterior has a point mass at 0, so its KL to any continuous
prior is infinite; ``check_pairing`` refuses such pairs by name.
"""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.names import POSTERIORS, PRIORS, lookup
from keras_svae.spike_slab import SpikeSlab
from keras_svae.validation import check_number, check_scale

tfd = tfp.distributions


_PRIOR_CLASSES = {"normal": tfd.Normal, "laplace": tfd.Laplace, "cauchy": tfd.Cauchy}
_POSTERIOR_CLASSES = {"normal": tfd.Normal, "laplace": tfd.Laplace, "cauchy": tfd.Cauchy}

# Student-t degrees of freedom below this give prior draws beyond float32's
# range from the exported sampler's smallest uniform (2**-53): its draws grow
# like u**(-1/df). Heavier tails than df = 0.5 are of no use for sparse codes.
MIN_DF = 0.5
DEFAULT_DF = 3.0
DEFAULT_SLAB_PROBABILITY = 0.5

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


@tfd.RegisterKL(tfd.Laplace, tfd.Normal)
def _kl_laplace_normal(q, p, name=None):
    """KL(Laplace(mu, b) || Normal(m, s)) in closed form.

    E_q[log q] = -log(2 b) - 1, and E_q[(z - m)^2] = 2 b^2 + (mu - m)^2, so
    KL = log(s sqrt(2 pi) / (2 b)) - 1 + (2 b^2 + (mu - m)^2) / (2 s^2).
    """
    with tf.name_scope(name or "kl_laplace_normal"):
        dtype = q.dtype
        b = tf.convert_to_tensor(q.scale, dtype)
        s = tf.convert_to_tensor(p.scale, dtype)
        d = tf.convert_to_tensor(q.loc, dtype) - tf.convert_to_tensor(p.loc, dtype)
        return (
            tf.math.log(s / b)
            + 0.5 * math.log(2.0 * math.pi)
            - math.log(2.0)
            - 1.0
            + (2.0 * tf.square(b) + tf.square(d)) / (2.0 * tf.square(s))
        )


def _kl_to_spike_slab(q, p):
    """KL(continuous q || spike-and-slab p) = KL(q || slab) - log gamma_p.

    q puts no mass on the spike at 0, so only the slab's density gamma_p N(z)
    meets it."""
    log_slab, _ = p.log_slab_probs()
    return tfd.kl_divergence(q, tfd.Normal(p.loc, p.scale)) - log_slab


@tfd.RegisterKL(tfd.Normal, SpikeSlab)
def _kl_normal_spike_slab(q, p, name=None):
    """KL(Normal || spike-and-slab): the Gaussian KL to the slab minus log gamma_p."""
    with tf.name_scope(name or "kl_normal_spike_slab"):
        return _kl_to_spike_slab(q, p)


@tfd.RegisterKL(tfd.Laplace, SpikeSlab)
def _kl_laplace_spike_slab(q, p, name=None):
    """KL(Laplace || spike-and-slab): KL(Laplace || slab) minus log gamma_p."""
    with tf.name_scope(name or "kl_laplace_spike_slab"):
        return _kl_to_spike_slab(q, p)


VALID_SPIKE_SLAB_PAIRINGS = (
    "posterior 'spike_slab' with prior 'spike_slab' (closed form); posterior 'normal' "
    "or 'laplace' with prior 'spike_slab' (closed form)"
)


def _no_spike_slab_kl(q, p):
    raise ValueError(
        f"KL({type(q).__name__} || {type(p).__name__}) is infinite: a spike-and-slab "
        "puts probability on z = 0 exactly, which the other distribution cannot match. "
        f"Valid pairings with spike-and-slab: {VALID_SPIKE_SLAB_PAIRINGS}."
    )


@tfd.RegisterKL(SpikeSlab, tfd.Distribution)
def _kl_spike_slab_other(q, p, name=None):
    """Refused: the posterior's spike has no counterpart in a continuous prior."""
    _no_spike_slab_kl(q, p)


@tfd.RegisterKL(tfd.Distribution, SpikeSlab)
def _kl_other_spike_slab(q, p, name=None):
    """Refused for posteriors other than Normal, Laplace and spike-and-slab
    (Cauchy's E[z^2] is infinite, so its KL to the Gaussian slab is too)."""
    _no_spike_slab_kl(q, p)


def inner_distribution(distribution):
    """The factorised distribution inside Independent wrappers (TFP's
    ``tfd.Independent`` makes ``_Independent`` instances for non-composite
    distributions, which are no ``tfd.Independent``: test for the attribute)."""
    while hasattr(distribution, "reinterpreted_batch_ndims"):
        distribution = distribution.distribution
    return distribution


def check_pairing(posterior, prior):
    """Raise a ValueError unless KL(posterior family || prior) is finite.

    Call it once when a model is made, whatever its KL mode: a sampled
    estimate of an infinite KL is a finite-looking number, not a bound.

    Args:
        posterior: a posterior family name ("normal", "laplace", "cauchy",
            "spike_slab").
        prior: the prior, a name or a distribution (``make_prior``'s result).

    Returns:
        The canonical posterior name.
    """
    family = lookup(posterior, POSTERIORS, "posterior")
    if isinstance(prior, str):
        prior_is_spike_slab = lookup(prior, PRIORS, "prior") == "spike_slab"
        prior_name = prior.lower()
    else:
        prior_is_spike_slab = isinstance(inner_distribution(prior), SpikeSlab)
        prior_name = type(inner_distribution(prior)).__name__
    if family == "spike_slab" and not prior_is_spike_slab:
        raise ValueError(
            f"The spike_slab posterior cannot be paired with the {prior_name} prior: the "
            "posterior puts probability on z = 0 exactly, so its KL to a continuous prior is "
            f"infinite. Valid pairings: {VALID_SPIKE_SLAB_PAIRINGS}."
        )
    if prior_is_spike_slab and family not in ("normal", "laplace", "spike_slab"):
        raise ValueError(
            f"The {family} posterior cannot be paired with the spike_slab prior: its KL to "
            f"the Gaussian slab is infinite. Valid pairings: {VALID_SPIKE_SLAB_PAIRINGS}."
        )
    light_tailed = prior_name in ("normal", "laplace", "Normal", "Laplace")
    if family == "cauchy" and light_tailed:
        raise ValueError(
            f"The cauchy posterior cannot be paired with the {prior_name} prior: E_q z^2 and "
            "E_q |z| are infinite under a Cauchy, so the KL is infinite and its sampled "
            "estimate has no mean. Pair it with the cauchy, student_t or horseshoe prior, or "
            "use posterior='normal' or 'laplace'."
        )
    return family


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


def check_df(df):
    """Student-t degrees of freedom as a float (None: the default, 3), or a
    ValueError saying why it must be a finite number >= 0.5."""
    if df is None:
        return DEFAULT_DF
    try:
        return check_number(df, "prior_df", minimum=MIN_DF)
    except ValueError:
        raise ValueError(
            f"prior_df (the Student-t degrees of freedom) must be a finite number >= {MIN_DF} "
            f"(1 is the Cauchy; heavier tails overflow float32 draws), got {df!r}."
        ) from None


def check_slab_probability(probability):
    """The spike-and-slab prior's slab probability gamma as a float in (0, 1)
    (None: the default, 0.5), or a ValueError: at 0 every latent is off, at 1
    the prior is a Normal and a posterior spike has an infinite KL."""
    if probability is None:
        return DEFAULT_SLAB_PROBABILITY
    try:
        value = check_number(probability, "slab_probability")
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise ValueError(
            "slab_probability (the prior probability that a latent is non-zero) must be a "
            f"number strictly between 0 and 1, got {probability!r}."
        )
    return value


class Horseshoe(tfd.Horseshoe):
    """TFP's horseshoe, with a log density and gradient finite for every float32 z.

    The horseshoe's density is infinite at 0. TFP's log density is +inf there
    with a NaN gradient, and its float32 gradient is already -inf for
    1e-15 <= |z| / scale <= 2.5e-10 (an intermediate power overflows). A
    Normal posterior's draw loc + scale * e lands there (by cancellation) often
    enough to matter: a BSDS run reached a NaN loss in epoch 13, and gradient
    clipping turns an infinite gradient into NaN. Within ``SMOOTHING`` scales
    of 0 the density is evaluated at sqrt(z^2 + (SMOOTHING * scale)^2): a
    smooth cap of the spike whose gradient is finite (at most about 7e4 per
    scale) and whose change of the density moves less than 1e-5 of the
    probability. Elsewhere (|z| >= 1e-3 scales) this is TFP's density exactly.
    """

    SMOOTHING = 1e-6

    def _log_prob(self, x):
        scale = tf.convert_to_tensor(self.scale)
        near_zero = tf.abs(x) < 1e-3 * scale
        # The untaken branch of a tf.where still gets a gradient of 0 times its
        # own: keep it finite by feeding the smoothing only the small values.
        small = tf.where(near_zero, x, tf.zeros_like(x))
        smoothed = tf.sqrt(tf.square(small) + tf.square(self.SMOOTHING * scale))
        return super()._log_prob(tf.where(near_zero, smoothed, x))


def named_prior(name, latent_dim, scale, dtype="float32", df=None, slab_probability=None):
    """A named prior centred at 0 whose scale may be a tensor (a learned one).

    ``make_prior`` checks its arguments and calls this; a model with a
    learned prior scale calls it with the scale's current value.

    Args:
        name: one of ``PRIORS``.
        latent_dim: number of latent variables.
        scale: the scale, a number or a tensor broadcastable to [latent_dim].
        dtype: floating dtype of the distribution's parameters.
        df: the Student-t's degrees of freedom (None: the default 3).
        slab_probability: the spike-and-slab's slab probability (None: 0.5).

    Returns:
        A ``tfd.Independent`` with event shape [latent_dim].
    """
    loc = tf.zeros([latent_dim], dtype=dtype)
    if name == "student_t":
        df = check_df(df)
    if name == "spike_slab":
        slab_probability = check_slab_probability(slab_probability)
    scale = tf.cast(scale, dtype)
    if name == "student_t":
        base = tfd.StudentT(df=tf.cast(df, dtype), loc=loc, scale=scale)
    elif name == "spike_slab":
        base = SpikeSlab(loc=loc, scale=scale, slab_probs=tf.cast(slab_probability, dtype))
    elif name == "horseshoe":
        base = Horseshoe(scale=loc + scale)
    else:
        base = _PRIOR_CLASSES[name](loc=loc, scale=scale)
    return tfd.Independent(base, reinterpreted_batch_ndims=1)


def make_prior(prior, latent_dim, scale=1.0, dtype="float32", *, df=None, slab_probability=None):
    """Build the prior p(z) as a distribution with event shape [latent_dim].

    Args:
        prior: "normal", "laplace", "cauchy", "student_t", "spike_slab" or
            "horseshoe" (centred at 0 with ``scale``); a ``tfd.Distribution``;
            or a callable ``factory(latent_dim, dtype)`` returning one.
        latent_dim: number of latent variables.
        scale: the named prior's scale (ignored for distributions and
            factories): the Student-t's scale, the spike-and-slab's slab
            standard deviation, the horseshoe's global scale tau.
        dtype: floating dtype of the distribution's parameters.
        df: the Student-t's degrees of freedom (default 3; 1 is the Cauchy);
            only for "student_t".
        slab_probability: the spike-and-slab's probability gamma that a
            latent is non-zero (default 0.5); only for "spike_slab".

    Returns:
        A ``tfd.Distribution`` whose ``log_prob(z)`` sums over the latent axis.

    Examples:
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
    for value, what, owner in (
        (df, "df", "student_t"),
        (slab_probability, "slab_probability", "spike_slab"),
    ):
        if value is not None and name != owner:
            raise ValueError(f"{what}= applies to the {owner!r} prior only, not to {name!r}.")
    df = check_df(df) if name == "student_t" else None
    if name == "spike_slab":
        slab_probability = check_slab_probability(slab_probability)
    return named_prior(name, latent_dim, scale, dtype, df, slab_probability)


def make_posterior(posterior, loc, scale):
    """q(z given x) = Independent(family(loc, scale)) over the latent axis.

    For the location-scale families; the spike-and-slab posterior comes from
    ``keras_svae.posteriors.posterior_from_params``.

    Args:
        posterior: "normal", "laplace" or "cauchy" (any case).
        loc: the locations, [batch, latent_dim].
        scale: the scales (> 0), broadcastable to ``loc``.

    Returns:
        A ``tfd.Independent`` with event shape [latent_dim].

    Raises:
        ValueError: for a name that is not a location-scale family.
    """
    name = lookup(posterior, POSTERIORS, "posterior")
    if name not in _POSTERIOR_CLASSES:
        raise ValueError(
            f"The {name!r} posterior is not a location-scale family: build it from the "
            "encoder's outputs with keras_svae.posteriors.posterior_from_params."
        )
    return tfd.Independent(
        _POSTERIOR_CLASSES[name](loc=loc, scale=scale), reinterpreted_batch_ndims=1
    )


def positive_scale(raw, activation="softplus"):
    """Map an unconstrained encoder output to a scale: softplus plus a floor,
    or (``activation="exp"``, the paper's) exp of the output clipped to
    [-20, 20] so that neither the scale nor its gradient overflows."""
    if activation == "exp":
        return keras.ops.exp(keras.ops.clip(raw, -20.0, 20.0))
    return keras.ops.softplus(raw) + SCALE_FLOOR
