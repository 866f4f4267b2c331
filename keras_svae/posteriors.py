"""q(z given x) from the encoder's raw outputs, for every posterior family.

An encoder emits ``posterior_width(family) * latent_dim`` numbers per input,
laid out as consecutive blocks of ``latent_dim``: the location, the raw scale
and (spike-and-slab only) the raw slab logit. The first two blocks are the
layout the Normal and Cauchy posteriors always had, so encoders and saved
models of those families are unchanged.

Every posterior here has a reparameterised ``sample(n, seed=...)`` (gradients
reach the encoder's outputs) and a ``mode()`` (the Cauchy has no mean, so code
that needs one number per latent uses the mode).
"""

import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.distributions import make_posterior, positive_scale
from keras_svae.names import POSTERIORS, SCALE_ACTIVATIONS, lookup
from keras_svae.spike_slab import SPIKE_SLAB_WIDTH, SpikeSlab

tfd = tfp.distributions

# Encoder outputs per latent for the location-scale families.
LOCATION_SCALE_WIDTH = 2


def posterior_width(family):
    """How many encoder outputs one latent of this posterior family takes.

    Args:
        family: "normal", "laplace", "cauchy" (location and scale: 2) or
            "spike_slab" (location, scale and slab logit: 3).

    Returns:
        An int; an encoder for ``latent_dim`` latents must output
        ``posterior_width(family) * latent_dim`` numbers per input.
    """
    family = lookup(family, POSTERIORS, "posterior")
    return SPIKE_SLAB_WIDTH if family == "spike_slab" else LOCATION_SCALE_WIDTH


def posterior_from_params(
    family, params, scale_activation="softplus", *, temperature=0.5, straight_through=True
):
    """The posterior q(z given x) for a batch of raw encoder outputs.

    Args:
        family: a posterior family name (see ``posterior_width``).
        params: the encoder's output, [batch, posterior_width(family) *
            latent_dim]: location block, raw-scale block, then (spike-and-slab)
            the slab-logit block.
        scale_activation: "softplus" (softplus plus ``SCALE_FLOOR``, the
            default) or "exp" (the paper's exp of the raw value, clipped so
            neither the scale nor its gradient overflows).
        temperature: the spike-and-slab's concrete relaxation temperature
            (see ``keras_svae.spike_slab.SpikeSlab``). Ignored by the other
            families.
        straight_through: the spike-and-slab's samples are exact zeros in the
            forward pass with the relaxation's gradient (True, default), or
            the relaxed, never-zero switch (False). Ignored by the others.

    Returns:
        A distribution with batch shape [batch] and event shape [latent_dim]:
        ``Independent`` over Normal, Laplace, Cauchy or ``SpikeSlab`` (whose
        gamma is the sigmoid of the slab logit).

    Examples:
        >>> q = posterior_from_params("spike_slab", tf.zeros([4, 30]))
        >>> q.sample(2, seed=(1, 2)).shape
        TensorShape([2, 4, 10])
    """
    family = lookup(family, POSTERIORS, "posterior")
    activation = lookup(scale_activation, SCALE_ACTIVATIONS, "scale activation")
    width = posterior_width(family)
    params = tf.convert_to_tensor(params)
    size = params.shape[-1]
    if params.shape.rank != 2 or size is None or size % width:
        raise ValueError(
            f"The {family} posterior needs encoder outputs of shape [batch, {width} * "
            f"latent_dim] ({width} numbers per latent), got shape {tuple(params.shape)}."
        )
    blocks = tf.split(params, width, axis=-1)
    scale = positive_scale(blocks[1], activation)
    if family != "spike_slab":
        return make_posterior(family, blocks[0], scale)
    spike_slab = SpikeSlab(
        loc=blocks[0],
        scale=scale,
        slab_logits=blocks[2],
        temperature=temperature,
        straight_through=straight_through,
    )
    return tfd.Independent(spike_slab, reinterpreted_batch_ndims=1)


def posterior_probe(family, latent_dim, dtype="float32"):
    """A one-example posterior of ``family`` (all raw outputs 0), for asking
    the KL registry once, when a model is made, which path its KL takes."""
    width = posterior_width(family)
    return posterior_from_params(family, tf.zeros([1, width * latent_dim], dtype=dtype))
