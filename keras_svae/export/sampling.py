"""The one prior sampler of exported decoders, for numpy and for TensorFlow.

Prior draws are ``loc + scale * e`` with e a standard draw of the family made
from two arrays of uniform numbers in (0, 1): Box-Muller for the Normal, the
inverse CDF for the Laplace and the Cauchy. The formulas are written once,
against an ``ops`` namespace that is ``numpy`` (the LiteRT generator, on
``numpy.random.default_rng(seed)``) or ``tf.math`` (the SavedModel's
``generate(seed, n)``, on ``tf.random.stateless_uniform``); the two runtimes
use different uniform generators, so the same seed gives different (equally
valid) draws.

This module needs only numpy and the standard library, so a device without
TensorFlow can import it.
"""

import math

import numpy as np

from keras_svae.names import PRIORS

# Added to uniforms on a 2**-53 grid in [0, 1): the result lies in (0, 1), so no
# logarithm or tangent below is infinite.
OPEN_INTERVAL_OFFSET = 2.0**-54


def check_family(family):
    """Return ``family`` if the sampler knows it, else raise a ValueError."""
    if family not in PRIORS:
        raise ValueError(
            f"Unknown prior family {family!r} in export.json; expected one of "
            f"{', '.join(map(repr, PRIORS))}."
        )
    return family


def standard_draws(family, u, v, ops=np):
    """Standard draws (location 0, scale 1) of ``family`` from uniforms u, v in (0, 1).

    Args:
        family: "normal", "laplace" or "cauchy".
        u, v: arrays (or tensors) of the same shape with values in (0, 1); only
            the Normal uses ``v``.
        ops: ``numpy`` or ``tf.math``: where sqrt, log, cos, sign, abs, log1p
            and tan come from.
    """
    check_family(family)
    if family == "normal":  # Box-Muller
        return ops.sqrt(-2.0 * ops.log(u)) * ops.cos(2.0 * math.pi * v)
    if family == "laplace":
        p = u - 0.5
        return -ops.sign(p) * ops.log1p(-2.0 * ops.abs(p))
    return ops.tan(math.pi * (u - 0.5))


def sample_prior(prior, n, seed=0):
    """n latents [n, latent_dim] (float32) from export.json's ``prior`` dict
    (``family``, one ``loc`` and ``scale`` per latent), with numpy only.

    The uniforms come from ``numpy.random.default_rng(seed)``: the same seed
    gives the same latents.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}.")
    family = check_family(prior.get("family"))
    loc = np.asarray(prior["loc"], np.float64)
    scale = np.asarray(prior["scale"], np.float64)
    u, v = np.random.default_rng(seed).random((2, n, len(loc))) + OPEN_INTERVAL_OFFSET
    return (loc + scale * standard_draws(family, u, v, np)).astype(np.float32)
