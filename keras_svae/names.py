"""The names every choice accepts, and the one case-insensitive lookup.

Every string option of the library (prior, posterior, likelihood, KL mode,
networks) is resolved by ``lookup``, so ``"Cauchy"`` and ``"cauchy"`` mean the
same thing everywhere. This module needs only the standard library: the
numpy-only prior sampler of the LiteRT generator imports it without TensorFlow.
"""

# The paper's three priors, then the sparse-coding family that followed it:
# Student-t (df; 1 is Cauchy), spike-and-slab (Tonolini et al. 2020) and the
# horseshoe (Carvalho et al. 2010; Geadah et al. 2024).
PAPER_PRIORS = ("normal", "laplace", "cauchy")
PRIORS = (*PAPER_PRIORS, "student_t", "spike_slab", "horseshoe")
# Location-scale posteriors (two encoder outputs per latent) and the
# spike-and-slab posterior (three: location, scale, slab logit).
POSTERIORS = ("normal", "laplace", "cauchy", "spike_slab")
LIKELIHOODS = ("bernoulli", "gaussian")
KL_MODES = ("auto", "analytic", "sampled")
OBJECTIVES = ("elbo", "iwae")
# The command line's tf.distribute strategies (keras_svae.distribute.make_strategy).
STRATEGIES = ("none", "mirrored", "multi-worker")
# How the encoder's second output becomes the posterior's scale.
SCALE_ACTIVATIONS = ("softplus", "exp")
ENCODERS = ("mlp", "conv")
DECODERS = ("mlp", "linear", "conv")

# The posterior family that the paper pairs with each named prior.
# The newer priors get their natural partner: the spike-and-slab posterior for
# the spike-and-slab prior (the only finite KL), a Normal one otherwise.
PAPER_POSTERIOR = {
    "normal": "normal",
    "laplace": "normal",
    "cauchy": "cauchy",
    "student_t": "normal",
    "spike_slab": "spike_slab",
    "horseshoe": "normal",
}


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
    """The paper's posterior for a prior name (Cauchy for Cauchy, spike-and-slab
    for spike-and-slab, else Normal); "normal" for priors given as
    distributions or factories."""
    if isinstance(prior, str):
        return PAPER_POSTERIOR[lookup(prior, PRIORS, "prior")]
    return "normal"
