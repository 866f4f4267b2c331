"""The names every choice accepts, and the one case-insensitive lookup.

Every string option of the library (prior, posterior, likelihood, KL mode,
networks) is resolved by ``lookup``, so ``"Cauchy"`` and ``"cauchy"`` mean the
same thing everywhere. This module needs only the standard library: the
numpy-only prior sampler of the LiteRT generator imports it without TensorFlow.
"""

PRIORS = ("normal", "laplace", "cauchy")
POSTERIORS = ("normal", "cauchy")
LIKELIHOODS = ("bernoulli", "gaussian")
KL_MODES = ("auto", "analytic", "sampled")
ENCODERS = ("mlp", "conv")
DECODERS = ("mlp", "linear", "conv")

# The posterior family that the paper pairs with each named prior.
PAPER_POSTERIOR = {"normal": "normal", "laplace": "normal", "cauchy": "cauchy"}


def lookup(value, choices, what):
    """Return the canonical (lower-case) name of ``value`` among ``choices``.

    Raises:
        ValueError: naming the valid choices, if ``value`` is not a string or
            not one of them (case-insensitively).
    """
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise ValueError(f"Unknown {what} {value!r}. Valid choices: {', '.join(map(repr, choices))}.")


def paper_posterior(prior):
    """The paper's posterior for a prior name (Cauchy for Cauchy, else Normal);
    "normal" for priors given as distributions or factories."""
    if isinstance(prior, str):
        return PAPER_POSTERIOR[lookup(prior, PRIORS, "prior")]
    return "normal"
