"""KL(q || p): TFP's registered closed form where one exists, sampled otherwise.

The sampled estimate uses the same reparameterised samples that feed the
decoder, E_q[log q(z) - log p(z)] averaged over the sample axis, so the loss
stays an unbiased estimate of the negative ELBO and its gradient flows through z.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.distributions import check_pairing
from keras_svae.names import KL_MODES, lookup
from keras_svae.posteriors import posterior_probe

tfd = tfp.distributions


def _family(distribution):
    """The name of the factorised family inside an Independent wrapper."""
    inner = getattr(distribution, "distribution", distribution)
    return type(inner).__name__


def has_closed_form(q, p):
    """Whether TFP's KL registry knows KL(q || p) for these distribution types.

    Args:
        q: the posterior, a ``tfd.Distribution``.
        p: the prior, a ``tfd.Distribution``.

    Returns:
        True when the KL has a registered closed form (the library's own
        registrations included), False when it has to be sampled.
    """
    try:
        tfd.kl_divergence(q, p)
    except NotImplementedError:
        return False
    return True


def uses_closed_form(posterior_family, prior, latent_dim, mode="auto"):
    """Whether a model with this posterior family, ``prior`` and KL ``mode``
    uses the registered closed form (decided once, when the model is made).

    Raises:
        ValueError: for mode "analytic" when no closed form is registered, and
            in every mode for pairs whose KL is infinite (``check_pairing``).
    """
    mode = lookup(mode, KL_MODES, "kl mode")
    check_pairing(posterior_family, prior)  # an infinite KL is refused in every mode
    if mode == "sampled":
        return False
    probe = posterior_probe(posterior_family, latent_dim)
    registered = has_closed_form(probe, prior)
    if mode == "analytic" and not registered:
        kl_divergence(probe, prior, mode="analytic")  # raises the ValueError
    return registered


def kl_divergence(q, p, z=None, mode="auto"):
    """Per-example KL(q || p), summed over the latent axis.

    Args:
        q: posterior with event shape [latent_dim] and batch shape [batch].
        p: prior with event shape [latent_dim].
        z: samples from q, shape [n_samples, batch, latent_dim]; needed when the
            KL is sampled.
        mode: "auto" (closed form if registered, else sampled), "analytic"
            (closed form or a ValueError) or "sampled".

    Returns:
        A [batch] tensor.
    """
    mode = lookup(mode, KL_MODES, "kl mode")
    if mode != "sampled":
        try:
            return tfd.kl_divergence(q, p)
        except NotImplementedError:
            if mode == "analytic":
                raise ValueError(
                    f"kl='analytic' but no closed form of KL({_family(q)} || "
                    f"{_family(p)}) is registered with TFP. Use kl='sampled' or "
                    "kl='auto', or register one with tfd.RegisterKL."
                ) from None
    if z is None:
        raise ValueError("The sampled KL needs samples z drawn from q.")
    return tf.reduce_mean(q.log_prob(z) - p.log_prob(z), axis=0)
