"""The one prior sampler of exported decoders, for numpy and for TensorFlow.

Prior draws are ``loc + scale * e`` with e a standard draw of the family made
from two arrays of uniform numbers: Box-Muller for the Normal (numpy has no
inverse normal CDF), the inverse CDF for the Laplace and the Cauchy. The
formulas are written once, against an ``ops`` namespace that is ``numpy`` (the
LiteRT generator and the parity check, on ``numpy.random.default_rng(seed)``)
or ``tf.math`` (the SavedModel's ``generate(seed, n)``, on
``tf.random.stateless_uniform``); the two runtimes use different uniform
generators, so the same seed gives different (equally valid) draws.

This module needs only numpy and the standard library, so a device without
TensorFlow can import it.
"""

import math

import numpy as np

from keras_svae.names import PRIORS, lookup

# float64 uniform generators return multiples of 2**-53 (numpy) or 2**-52
# (TensorFlow) in [0, 1). Adding half a step is not enough: numpy's largest
# value, 1 - 2**-53, plus 2**-54 rounds to exactly 1.0, and the Laplace's
# inverse CDF is infinite there. The centres of a 2**-52 grid lie strictly
# inside (0, 1) and are all representable, for both generators.
UNIFORM_GRID = 2.0**52


def check_family(family):
    """The canonical name of a prior family, or a ValueError naming the valid ones."""
    return lookup(family, PRIORS, "prior family")


def open_unit_interval(u, ops=np):
    """Uniforms in [0, 1) moved to the centre of their 2**-52 cell: in (0, 1).

    Args:
        u: an array (or tensor) of float64 uniforms in [0, 1).
        ops: ``numpy`` or ``tf.math`` (only ``floor`` is used).

    Returns:
        The values ``(floor(u * 2**52) + 0.5) / 2**52``, between 2**-53 and
        1 - 2**-53, so no logarithm or tangent of them is infinite.
    """
    return (ops.floor(u * UNIFORM_GRID) + 0.5) / UNIFORM_GRID


def standard_draws(family, u, v, ops=np):
    """Standard draws (location 0, scale 1) of a prior family from uniforms.

    Args:
        family: "normal", "laplace" or "cauchy" (any case).
        u, v: float64 arrays (or tensors) of the same shape with values in
            [0, 1), as uniform generators return them; only the Normal uses
            ``v``.
        ops: ``numpy`` or ``tf.math``: where floor, sqrt, log, cos, sign, abs,
            log1p and tan come from.

    Returns:
        Finite draws of the family's standard distribution, shaped like ``u``.
    """
    family = check_family(family)
    u = open_unit_interval(u, ops)
    if family == "normal":  # Box-Muller
        v = open_unit_interval(v, ops)
        return ops.sqrt(-2.0 * ops.log(u)) * ops.cos(2.0 * math.pi * v)
    if family == "laplace":
        p = u - 0.5
        return -ops.sign(p) * ops.log1p(-2.0 * ops.abs(p))
    return ops.tan(math.pi * (u - 0.5))


def prior_draws(family, loc, scale, u, v, ops=np):
    """Draws ``loc + scale * e`` of a prior from uniforms (see ``standard_draws``).

    Args:
        family: "normal", "laplace" or "cauchy".
        loc, scale: one location and scale per latent (float64), broadcast
            against the last axis of ``u``.
        u, v: float64 uniforms in [0, 1), e.g. of shape [n, latent_dim].
        ops: ``numpy`` or ``tf.math``.
    """
    return loc + scale * standard_draws(family, u, v, ops)


def sample_prior(prior, n, seed=0):
    """n latents from the prior recorded in export.json, with numpy only.

    Args:
        prior: export.json's ``prior`` dict: ``family`` and one ``loc`` and
            ``scale`` per latent.
        n: how many latent vectors (>= 0).
        seed: seed of ``numpy.random.default_rng``: the same seed gives the
            same latents.

    Returns:
        float32 array [n, latent_dim].
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"The number of latents must be >= 0, got {n}.")
    family = check_family(prior.get("family"))
    loc = np.asarray(prior["loc"], np.float64)
    scale = np.asarray(prior["scale"], np.float64)
    u, v = np.random.default_rng(seed).random((2, n, len(loc)))
    return prior_draws(family, loc, scale, u, v, np).astype(np.float32)
