"""How sparse the codes are and which latents the model uses.

The code of an example is its posterior location (``codes``): the mean of a
Normal posterior, the median of a Cauchy one.
"""

import numpy as np
import scipy.optimize
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.distributions import inner_distribution
from keras_svae.evaluation.checks import as_matrix, is_model, model_inputs, positive_int
from keras_svae.evaluation.latents import codes
from keras_svae.kl import has_closed_form, kl_divergence
from keras_svae.posteriors import posterior_from_params, posterior_width

tfd = tfp.distributions

# Defaults of the one definition of "a latent carries information"
# (``active_latents``, which says why these values).
KL_MARGIN = 0.1
CODE_VARIANCE = 0.01
NOT_GIVEN = object()  # active_units' kl: None is a value there (no posterior)


def hoyer_sparsity(latent_codes, informative=None):
    """Mean Hoyer sparsity of the standardised codes of the informative latents.

    Each latent is first divided by its standard deviation across the examples,
    so the number does not depend on the latents' arbitrary scales (a linear
    decoder can shrink one latent and grow its pattern without changing the
    model). Then, for each example's code c of n latents,

        H(c) = (sqrt(n) - |c|_1 / |c|_2) / (sqrt(n) - 1),

    which is 1 when one latent alone is non-zero and 0 when all are equal in
    size; the mean over examples is returned. A latent that never varies (std
    0) is left unscaled, and an all-zero code counts as 0.

    Collapsed latents must be left out (``informative``): standardising
    scales a latent that barely moves up like any other, and codes that are
    all collapsed score about 0.56, above dense N(0, 1) codes (about 0.27).

    Called as ``hoyer_sparsity(model, x)`` it scores the model's codes of
    ``x`` over its ``informative_latents``.

    Args:
        latent_codes: numpy array [n, latent_dim] with latent_dim >= 2 (or a
            trained model, then ``informative`` is its examples).
        informative: boolean mask [latent_dim] of the latents that carry
            information (``active_latents`` / ``informative_latents``); None
            scores every column as given.

    Returns:
        A float in [0, 1]; None when ``informative`` leaves fewer than 2
        latents (a collapsed model has no sparsity to measure).
    """
    if is_model(latent_codes):  # hoyer_sparsity(model, x)
        model, x = latent_codes, model_inputs(latent_codes, informative)
        latent_codes, informative = codes(model, x), informative_latents(model, x)
    latent_codes = as_matrix(latent_codes, "latent_codes", min_columns=2)
    if informative is not None:
        informative = np.asarray(informative)
        if informative.dtype != np.bool_ or informative.shape != latent_codes.shape[1:]:
            raise ValueError(
                f"informative must be a boolean mask with one entry per latent, shape "
                f"({latent_codes.shape[1]},); got dtype {informative.dtype} and shape "
                f"{informative.shape}."
            )
        if informative.sum() < 2:
            return None
        latent_codes = latent_codes[:, informative]
    n = latent_codes.shape[1]
    std = latent_codes.std(axis=0)
    scaled = latent_codes / np.where(std > 0, std, 1.0)
    l1 = np.sum(np.abs(scaled), axis=1)
    l2 = np.sqrt(np.sum(scaled**2, axis=1))
    ratio = np.divide(l1, l2, out=np.full_like(l1, np.sqrt(n)), where=l2 > 0)
    return float(np.clip(np.mean((np.sqrt(n) - ratio) / (np.sqrt(n) - 1)), 0.0, 1.0))


def l0_curve(latent_codes, thresholds):
    """The fraction of code entries with |code| <= each threshold.

    A sparse code has most entries at or near 0, so its curve rises steeply at
    small thresholds; threshold 0 gives the fraction of entries exactly 0. The
    codes are taken as they are (not standardised), so the thresholds are in
    the latents' own units.

    Args:
        latent_codes: numpy array [n, latent_dim].
        thresholds: non-negative numbers, e.g. ``[0, 0.01, 0.1, 1]``.

    Returns:
        A float64 numpy array with one fraction in [0, 1] per threshold.
    """
    latent_codes = as_matrix(latent_codes, "latent_codes")
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1 or len(thresholds) == 0:
        raise ValueError(f"thresholds must be a 1-D list of numbers, got shape {thresholds.shape}.")
    if not np.all(np.isfinite(thresholds)) or np.any(thresholds < 0):
        raise ValueError(f"thresholds must be finite and >= 0, got {thresholds.tolist()}.")
    magnitudes = np.sort(np.abs(latent_codes).ravel())
    return np.searchsorted(magnitudes, thresholds, side="right") / magnitudes.size


def active_latents(
    latent_codes,
    *,
    kl,
    floor=None,
    scale=1.0,
    kl_margin=KL_MARGIN,
    code_variance=CODE_VARIANCE,
):
    """Which latents carry information about the input: the one definition.

    Latent j is informative when both hold:

    (a) its mean KL(q(z_j given x) || p(z_j)) over the examples exceeds the
        posterior family's ``floor`` (``kl_floor``: the KL of a latent that
        ignores its input) by more than ``kl_margin`` nats. 0.1 nats is about
        a seventh of a bit per example: a latent below it can tell apart
        fewer than 1.11 kinds of input (e^0.1), and 25 latents at 0.1 nats
        each are not 25 latents in use. With no floor (a sampled KL, or
        ``floor=None``) the KL is measured from 0: the sampled pairs' floors
        are not known in closed form, and the mean over examples of the
        sampled estimate is precise enough; (b) below then catches a latent
        that sits at its floor.
    (b) its code (the posterior location, ``codes``) varies across the
        examples: variance > ``code_variance`` * ``scale`` ** 2, with
        ``scale`` the prior's scale, so the test is in the prior's units
        (0.01 is Burda et al.'s (2016) threshold for a N(0, 1) prior: a
        standard deviation a tenth of the prior's). A latent whose code is
        always 0 (a spike-and-slab latent switched off for every input, a
        thresholded latent below its threshold everywhere) or always the same
        value pays KL without carrying anything, and fails here.

    A latent that fails either is collapsed (``collapsed_fraction``).

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations, n >= 2.
        kl: KL per latent in nats, [latent_dim] (mean over examples) or
            [n, latent_dim] (per example, ``kl_per_latent(...,
            per_example=True)``); None for a model without a posterior
            (sparse coding), where (b) alone decides.
        floor: ``kl_floor(model)`` ([latent_dim] or a number); None for 0.
        scale: the prior's scale (``model.prior_scale``); a number or
            [latent_dim].
        kl_margin: nats above the floor a latent's mean KL must exceed.
        code_variance: variance of the code, in units of ``scale`` ** 2, it
            must exceed.

    Returns:
        A boolean numpy array [latent_dim].
    """
    latent_codes = as_matrix(latent_codes, "latent_codes", min_rows=2)
    for value, name in ((kl_margin, "kl_margin"), (code_variance, "code_variance")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a number > 0, got {value!r}.")
    scale = np.asarray(scale, np.float64)
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale (the prior's scale) must be finite and > 0, got {scale.tolist()}.")
    varies = np.var(latent_codes, axis=0) > code_variance * scale**2
    if kl is None:
        return varies
    kl = np.asarray(kl, np.float64)
    mean_kl = as_matrix(kl, "kl").mean(axis=0) if kl.ndim == 2 else as_matrix(kl[None], "kl")[0]
    if mean_kl.shape != varies.shape:
        raise ValueError(
            f"kl has {mean_kl.shape[0]} latents but latent_codes has {varies.shape[0]}; "
            "pass both for the same model."
        )
    floor = np.zeros_like(mean_kl) if floor is None else np.asarray(floor, np.float64)
    return (mean_kl - floor > kl_margin) & varies


def active_units(latent_codes, x=None, *, kl=NOT_GIVEN, **definition):
    """How many latents carry information (``active_latents``): an int.

    Called as ``active_units(model, x)``, it counts ``informative_latents``.

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations (or
            a trained model, then ``x`` its examples).
        x: the model's examples when ``latent_codes`` is a model; None with
            codes.
        kl: KL per latent, see ``active_latents`` (required with codes;
            None for a model without a posterior, as there).
        **definition: ``floor``, ``scale``, ``kl_margin``,
            ``code_variance`` of ``active_latents``.

    Returns:
        The number of informative latents, an int.
    """
    if is_model(latent_codes):
        return int(np.sum(informative_latents(latent_codes, x, **definition)))
    if x is not None or kl is NOT_GIVEN:
        raise ValueError(
            "active_units takes (model, x), or codes with their KL per latent: "
            "active_units(codes, kl=kl_per_latent(model, x), floor=kl_floor(model))."
        )
    return int(np.sum(active_latents(latent_codes, kl=kl, **definition)))


def collapsed_fraction(latent_codes, *, kl, **definition):
    """The share of latents that carry no information: 1 - ``active_units`` /
    latent_dim, so the two numbers never disagree.

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations.
        kl: KL per latent, see ``active_latents``.
        **definition: ``floor``, ``scale``, ``kl_margin``,
            ``code_variance`` of ``active_latents``.

    Returns:
        A float in [0, 1].
    """
    return float(1.0 - np.mean(active_latents(latent_codes, kl=kl, **definition)))


def informative_latents(
    model, x, kl_margin=KL_MARGIN, code_variance=CODE_VARIANCE, batch_size=1000, seed=0
):
    """Which of a model's latents carry information about ``x``
    (``active_latents`` of its codes, KL per latent, KL floor and prior scale).

    Args:
        model: a built SparseVAE whose prior factorises over the latents.
        x: numpy array of examples [n, *data_shape], n >= 2 (held-out data).
        kl_margin: how far above its floor a latent's KL must be (nats; see
            ``active_latents``).
        code_variance: the smallest variance of a latent's codes, as a
            fraction of the prior's (see ``active_latents``).
        batch_size: examples per encoder call.
        seed: seed of the draws of a sampled KL.

    Returns:
        A boolean numpy array [latent_dim].
    """
    return active_latents(
        codes(model, x, batch_size),
        kl=kl_per_latent(model, x, batch_size=batch_size, seed=seed),
        floor=kl_floor(model),
        scale=model.prior_scale,
        kl_margin=kl_margin,
        code_variance=code_variance,
    )


def factorised_prior(model, what):
    """The model's prior as latent_dim scalar distributions (its batch), for
    per-latent numbers; a ValueError naming ``what`` when it does not factorise."""
    prior = model.prior
    # TFP makes ``_Independent`` (no tfd.Independent) around non-composite
    # distributions such as the spike-and-slab: test for the wrapper's attribute.
    if not (
        hasattr(prior, "reinterpreted_batch_ndims")
        and prior.distribution.batch_shape.as_list() == [model.latent_dim]
    ):
        raise ValueError(
            f"{what} needs a prior that factorises over the latents (a "
            "tfd.Independent over latent_dim scalar distributions); this model's prior "
            f"is {type(prior).__name__}."
        )
    return prior.distribution


def kl_floor(model):
    """The smallest KL(q(z_j) || p(z_j)) the model's posterior family can reach,
    per latent, or None when the pair has no closed-form KL.

    A latent that ignores its input still pays this much when the posterior
    family cannot equal the prior: about 0.048 nats for a Normal posterior
    under a Laplace prior. A latent carries information only with KL well
    above this floor, not above 0 (``active_latents``). The floor is found by
    minimising the registered closed form over one latent's raw encoder
    outputs (location, scale and, for the spike-and-slab, slab logit) with
    scipy's L-BFGS; a sampled KL has no closed form to minimise.

    Args:
        model: a SparseVAE (its prior and posterior family are what count).

    Returns:
        A float64 numpy array [latent_dim], or None.
    """
    prior = factorised_prior(model, "kl_floor")
    width = posterior_width(model.posterior_family)
    start = tf.zeros([1, width * model.latent_dim], prior.dtype)
    probe = inner_distribution(posterior_from_params(model.posterior_family, start))
    if not has_closed_form(probe, prior):
        return None

    # Plain tensors, no tf.Variable: a variable made inside a distribution
    # strategy's scope (a callback under fit) would be a distributed one.
    def per_latent(params):
        q = posterior_from_params(model.posterior_family, params, model.scale_activation)
        return tfd.kl_divergence(inner_distribution(q), prior)[0]

    def kl_and_gradient(values):
        params = tf.constant(np.reshape(values, start.shape), prior.dtype)
        with tf.GradientTape() as tape:
            tape.watch(params)
            total = tf.reduce_sum(per_latent(params))
        gradient = tape.gradient(total, params)
        return float(total), np.asarray(gradient, np.float64).ravel()

    found = scipy.optimize.minimize(
        kl_and_gradient, np.zeros(start.shape[-1]), jac=True, method="L-BFGS-B"
    )
    best = tf.constant(np.reshape(found.x, start.shape), prior.dtype)
    return np.maximum(np.asarray(per_latent(best), np.float64), 0.0)


def kl_per_latent(model, x, per_example=False, n_samples=256, batch_size=1000, seed=0):
    """KL(q(z_j given x) || p(z_j)) for each latent j, in nats.

    The posterior and the prior both factorise over the latents, so the total
    KL is the sum of these terms. Each is TFP's closed form where one is
    registered for the pair (Normal-Normal, Normal-Laplace, Cauchy-Cauchy),
    otherwise a Monte Carlo estimate from ``n_samples`` posterior draws.

    Args:
        model: a built SparseVAE whose prior factorises over the latents.
        x: numpy array of examples [n, *data_shape].
        per_example: return every example's terms instead of their mean.
        n_samples: draws per example for a sampled KL.
        batch_size: examples per encoder call.
        seed: integer seed of the draws for a sampled KL.

    Returns:
        A float64 numpy array: [latent_dim], the mean over examples, or
        [n, latent_dim] when ``per_example``.
    """
    x = model_inputs(model, x)
    n_samples = positive_int(n_samples, "n_samples")
    prior = factorised_prior(model, "kl_per_latent")
    batch_size = positive_int(batch_size, "batch_size")
    per_latent = []
    for start in range(0, len(x), batch_size):
        q = model.posterior(tf.convert_to_tensor(x[start : start + batch_size]))
        # Independent -> its factorised family; a Thresholded posterior -> its base
        # (whose KL is the thresholded one's, see keras_svae.thresholds).
        q = inner_distribution(q.distribution)
        if has_closed_form(q, prior):
            terms = kl_divergence(q, prior, mode="analytic")
        else:
            z = q.sample(n_samples, seed=tf.constant([int(seed), start], tf.int32))
            terms = kl_divergence(q, prior, z, mode="sampled")
        per_latent.append(np.asarray(terms, dtype=np.float64))
    per_latent = np.concatenate(per_latent)
    return per_latent if per_example else per_latent.mean(axis=0)


def posterior_collapse(model, x, **kwargs):
    """The share of latents that carry no information about ``x``: 1 - the
    mean of ``informative_latents``.

    Args:
        model: a built SparseVAE whose posterior and prior have a closed-form KL.
        x: numpy array of examples [n, *data_shape].
        **kwargs: passed to ``informative_latents`` (kl_margin, code_variance,
            batch_size).

    Returns:
        A float in [0, 1]: collapsed latents / latent_dim.

    Raises:
        ValueError: for a sampled KL, whose floor is not known: "collapsed
            onto the prior" cannot be checked there; ``informative_latents``
            applies to every model.
    """
    if kl_floor(model) is None:
        raise ValueError(
            f"posterior_collapse needs a closed-form KL; this model's ({model.posterior_family} "
            "posterior, its prior) is sampled, so the smallest KL its posterior can reach is "
            "not known. Use informative_latents(model, x) instead."
        )
    return float(1.0 - np.mean(informative_latents(model, x, **kwargs)))
