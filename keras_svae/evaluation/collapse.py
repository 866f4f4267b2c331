"""Whether a trained model learned something at all: the check every claim
makes before it compares models.

A collapsed model ignores its latents: its reconstructions are the mean
image, so anything computed from them (sharpness, patterns, latent spreads)
describes the mean image, not the prior. Comparing such a model with others
tells nothing about the priors, so a claim that compares it is untestable.
"""

import math
import numbers

# Below either threshold a model has learned nothing worth comparing: it
# explains less than a tenth of the test data's variance, or its code carries
# less than one nat per example.
MIN_EXPLAINED_VARIANCE = 0.1
MIN_TEST_KL = 1.0
# What a user can change when a trained model collapsed (run_variant and the
# WarnOnCollapse callback say it): the Python option, then the command line's flag.
COLLAPSE_FIXES = (
    "settings that fix it: a smaller noise scale, fixed (likelihood_scale with "
    "learn_likelihood_scale=False / --likelihood-scale), a KL warm-up (kl_warmup_epochs / "
    "--kl-warmup-epochs, the KLWarmUp callback), a smaller beta (--beta), or more epochs."
)


def model_collapsed(metrics):
    """Why a trained model counts as collapsed, or None when it learned something.

    Args:
        metrics: the model's test metrics (a run's ``metrics.json``), with
            ``explained_variance`` (of the test data by its reconstructions)
            and ``test_kl`` (total KL in nats per test example).

    Returns:
        The reason, e.g. ``"explained variance -0.012 < 0.1"`` or ``"test KL
        0.01 nats < 1"`` (both, joined by " and ", when both hold), or None.

    Raises:
        ValueError: when either number is missing or is not a finite number.
    """
    values = {}
    for key in ("explained_variance", "test_kl"):
        value = metrics.get(key)
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise ValueError(
                f"model_collapsed needs the finite number '{key}' among the metrics, got "
                f"{value!r}. Pass a run's metrics.json as written by experiment.run_variant "
                "(it has explained_variance and test_kl)."
            )
        values[key] = float(value)
    reasons = []
    if values["explained_variance"] < MIN_EXPLAINED_VARIANCE:
        reasons.append(
            f"explained variance {values['explained_variance']:.3g} < {MIN_EXPLAINED_VARIANCE:g}"
        )
    if values["test_kl"] < MIN_TEST_KL:
        reasons.append(f"test KL {values['test_kl']:.3g} nats < {MIN_TEST_KL:g}")
    return " and ".join(reasons) or None


def collapse_message(metrics, data_name="the test data"):
    """The one line that says a trained model collapsed, or None when it did not.

    Args:
        metrics: the model's metrics on held-out data, with
            ``explained_variance`` and ``test_kl`` (see `model_collapsed`).
        data_name: what the metrics were measured on, for the message.

    Returns:
        ``"posterior collapse: <reason> on <data_name>; the model ignores its
        latents, <the settings that fix it>"`` (``COLLAPSE_FIXES``), or None.

    Raises:
        ValueError: when either number is missing or is not finite.
    """
    reason = model_collapsed(metrics)
    if reason is None:
        return None
    return (
        f"posterior collapse: {reason} on {data_name}; the model ignores its latents, "
        f"{COLLAPSE_FIXES}"
    )
