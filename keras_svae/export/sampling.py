"""The one prior sampler of exported decoders, for numpy and for TensorFlow.

Prior draws are ``loc + scale * e`` with e a standard draw of the family made
from two arrays of uniform numbers: Box-Muller for the Normal (numpy has no
inverse normal CDF), the inverse CDF for the Laplace and the Cauchy. The newer
priors need no rejection loop either (fixed shapes suit a graph):

- Student-t(df): Bailey's polar method without its rejection step. Bailey
  takes a point uniform in the unit disc, W = radius^2, and returns
  T = cos(angle) sqrt(df (W^(-2/df) - 1)); a uniform point in the disc is
  W = u, angle = 2 pi v directly, so T = cos(2 pi v) sqrt(df expm1(-2 log(u) /
  df)) (df -> infinity gives Box-Muller, df = 1 the Cauchy).
- spike-and-slab(gamma): 0 where u < 1 - gamma; elsewhere (u - (1 - gamma)) /
  gamma is again uniform and independent of the choice, and feeds Box-Muller.
- horseshoe(tau): tau lambda e with lambda = tan(pi w / 2) half-Cauchy from a
  third uniform array w and e a Box-Muller Normal (``uniform_count`` says 3).

The formulas are written once, against an ``ops`` namespace that is ``numpy`` (the
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


# How many arrays of uniforms one draw of each family takes.
UNIFORM_COUNT = {"horseshoe": 3}
# Degrees of freedom below which the Student-t's draw from the smallest
# uniform (2**-53) leaves float32 (keras_svae.distributions.MIN_DF agrees).
MIN_EXPORT_DF = 0.5


def uniform_count(family):
    """How many uniform arrays (u, v and, for the horseshoe, w) a family's draws take."""
    return UNIFORM_COUNT.get(check_family(family), 2)


def family_parameters(prior):
    """The extra keyword parameters of a family from export.json's ``prior``
    dict: ``df`` for "student_t", ``slab_probability`` for "spike_slab",
    none otherwise; checked, as Python floats. A thresholded model's
    ``threshold`` (one per latent) is added for any family.

    Raises:
        ValueError: a parameter is missing or out of range.
    """
    family = check_family(prior.get("family"))
    if prior.get("threshold") is not None:
        threshold = np.asarray(prior["threshold"], np.float64)
        shape = np.shape(prior.get("loc"))
        if threshold.shape != shape or not np.all(np.isfinite(threshold) & (threshold >= 0)):
            raise ValueError(
                "A prior's 'threshold' must hold one finite number >= 0 per latent (like "
                f"'loc'), got {prior['threshold']!r}."
            )
        rest = family_parameters({key: v for key, v in prior.items() if key != "threshold"})
        return {**rest, "threshold": threshold}
    if family == "student_t":
        df = prior.get("df")
        if isinstance(df, bool) or not isinstance(df, (int, float)) or not df >= MIN_EXPORT_DF:
            raise ValueError(
                f"A student_t prior needs 'df', a number >= {MIN_EXPORT_DF}, got {df!r}."
            )
        return {"df": float(df)}
    if family == "spike_slab":
        gamma = prior.get("slab_probability")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ValueError(
                f"A spike_slab prior needs 'slab_probability', a number in (0, 1], got {gamma!r}."
            )
        return {"slab_probability": float(gamma)}
    return {}


def box_muller(u, v, ops=np):
    """A standard Normal draw from two uniforms already in (0, 1)."""
    return ops.sqrt(-2.0 * ops.log(u)) * ops.cos(2.0 * math.pi * v)


def slab_indicator(u, slab_probability, ops=np):
    """(1 where u >= 1 - gamma else 0, the uniform rescaled within the slab).

    floor(u + gamma) is the indicator without a comparison op (``tf.math`` has
    no ``where``); (u - (1 - gamma)) / gamma is uniform on [0, 1) given the
    slab and independent of the choice.
    """
    on = ops.floor(u + slab_probability)
    rescaled = ops.maximum(u - (1.0 - slab_probability), 0.0) / slab_probability
    return on, open_unit_interval(rescaled, ops)


def standard_draws(family, u, v, ops=np, *, w=None, df=None, slab_probability=None):
    """Standard draws (location 0, scale 1) of a prior family from uniforms.

    Args:
        family: a prior family name (any case).
        u: float64 array (or tensor) of uniforms in [0, 1), as uniform
            generators return them.
        v: a second such array of ``u``'s shape (the Laplace and the Cauchy
            use only ``u``).
        ops: ``numpy`` or ``tf.math``: where floor, sqrt, log, cos, sign, abs,
            log1p, tan, expm1 and maximum come from.
        w: a third array of uniforms, for the horseshoe (``uniform_count``).
        df: the Student-t's degrees of freedom (>= 0.5).
        slab_probability: the spike-and-slab's gamma, in (0, 1].

    Returns:
        Finite draws of the family's standard distribution, shaped like ``u``.
    """
    family = check_family(family)
    if family == "spike_slab":
        on, inside = slab_indicator(u, _required(slab_probability, "slab_probability"), ops)
        return on * box_muller(inside, open_unit_interval(v, ops), ops)
    u = open_unit_interval(u, ops)
    if family == "normal":
        return box_muller(u, open_unit_interval(v, ops), ops)
    if family == "laplace":
        p = u - 0.5
        return -ops.sign(p) * ops.log1p(-2.0 * ops.abs(p))
    if family == "student_t":  # Bailey's polar method, the disc point drawn directly
        df = _required(df, "df")
        angle = ops.cos(2.0 * math.pi * open_unit_interval(v, ops))
        return angle * ops.sqrt(df * ops.expm1(-2.0 / df * ops.log(u)))
    if family == "horseshoe":
        local = ops.tan(0.5 * math.pi * open_unit_interval(_required(w, "w"), ops))
        return local * box_muller(u, open_unit_interval(v, ops), ops)
    return ops.tan(math.pi * (u - 0.5))


def _required(value, what):
    if value is None:
        raise ValueError(f"This prior family's draws need {what}=.")
    return value


def prior_draws(family, loc, scale, u, v, ops=np, **parameters):
    """Draws of a prior from uniforms (see ``standard_draws``): ``loc + scale
    * e``; for the spike-and-slab, exactly 0 off the slab and
    ``loc + scale * e`` on it (its spike sits at 0, not at loc).

    Args:
        family: a prior family name.
        loc: one location per latent (float64), broadcast against the last
            axis of ``u``.
        scale: one scale per latent, broadcast like ``loc``.
        u: float64 uniforms in [0, 1), e.g. of shape [n, latent_dim].
        v: a second such array of ``u``'s shape.
        ops: ``numpy`` or ``tf.math``.
        **parameters: ``w``, ``df``, ``slab_probability`` as ``standard_draws``
            takes them, and ``threshold``: for a thresholded model, one
            threshold per latent, and the draws s become the codes its
            decoder was trained on, sign(s) max(|s| - threshold, 0).

    Returns:
        The draws, shaped like ``u``.
    """
    threshold = parameters.pop("threshold", None)
    if check_family(family) == "spike_slab":
        gamma = _required(parameters.get("slab_probability"), "slab_probability")
        on, inside = slab_indicator(u, gamma, ops)
        draws = on * (loc + scale * box_muller(inside, open_unit_interval(v, ops), ops))
    else:
        draws = loc + scale * standard_draws(family, u, v, ops, **parameters)
    if threshold is None:
        return draws
    return ops.sign(draws) * ops.maximum(ops.abs(draws) - threshold, 0.0)


def sample_prior(prior, n, seed=0):
    """n latents from the prior recorded in export.json, with numpy only.

    Args:
        prior: export.json's ``prior`` dict: ``family``, one ``loc`` and
            ``scale`` per latent, and ``df`` (student_t) or
            ``slab_probability`` (spike_slab).
        n: how many latent vectors (>= 0).
        seed: seed of ``numpy.random.default_rng``: the same seed gives the
            same latents.

    Returns:
        float32 array [n, latent_dim].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"The number of latents must be an integer, got {n!r}.")
    if n < 0:
        raise ValueError(f"The number of latents must be >= 0, got {n}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1], got {seed!r}.")
    family = check_family(prior.get("family"))
    parameters = family_parameters(prior)
    loc = np.asarray(prior["loc"], np.float64)
    scale = np.asarray(prior["scale"], np.float64)
    # The first two arrays are those of a two-array family: numpy fills in order.
    u, v, *rest = np.random.default_rng(seed).random((uniform_count(family), n, len(loc)))
    if rest:
        parameters["w"] = rest[0]
    return prior_draws(family, loc, scale, u, v, np, **parameters).astype(np.float32)
