"""The prior's parameters a SparseVAE can learn: its scale and its thresholds.

A sparse-coding dictionary with free decoder columns lets unused atoms shrink
towards zero norm, where no gradient revives them (dead atoms). Unit-norm
columns (``SparseVAE(unit_norm_decoder=True)``) stop the shrinking; a learned
prior scale then gives each latent back the freedom to set its own amplitude,
so a_j z_j with z_j ~ Laplace(0, s_j) and |a_j| = 1 is the free model
reparameterised, optimised differently (Jiang and de la Iglesia, 2021). The
scale is learned by maximising the ELBO itself (empirical Bayes): it has no
hyperprior.

Learned thresholds of exact zeros (``keras_svae.thresholds``) have a Gamma
prior. Its term is the log-density of one set of thresholds, which explain the
whole training set; the per-example loss therefore carries it divided by the
number of training examples (``train_size``), so the data, not the prior's
mode, decide where the thresholds end.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_svae.distributions import named_prior
from keras_svae.thresholds import threshold_kl

# The named priors whose scale can be learned: the location-scale families.
LEARNABLE_SCALE_PRIORS = ("normal", "laplace", "cauchy", "student_t")
# One scale for all latents, or one per latent.
PRIOR_SCALE_MODES = ("shared", "per_latent")


def inverse_softplus(value):
    """The raw weight whose softplus is ``value`` (> 0), as a Python float."""
    return float(np.log(np.expm1(value)))


def check_learn_prior_scale(value, prior):
    """Return ``value`` checked: None, "shared" or "per_latent", and only for
    a named location-scale prior.

    Args:
        value: the ``learn_prior_scale`` argument.
        prior: the model's prior argument (a name, distribution or factory).

    Returns:
        None, "shared" or "per_latent".

    Raises:
        ValueError: for another value, or a prior whose scale cannot be learned.
    """
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in PRIOR_SCALE_MODES:
        raise ValueError(
            f"learn_prior_scale must be None, 'shared' or 'per_latent', got {value!r}."
        )
    name = prior.lower() if isinstance(prior, str) else None
    if name not in LEARNABLE_SCALE_PRIORS:
        raise ValueError(
            f"learn_prior_scale needs a named location-scale prior "
            f"({', '.join(LEARNABLE_SCALE_PRIORS)}); this model's prior is {prior!r}. "
            "Give a custom prior its own trainable scale instead."
        )
    return value.lower()


def check_train_size(value):
    """Return ``value`` checked: None or a positive int (the number of
    training examples)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"train_size must be None or the number of training examples (an int >= 1), "
            f"got {value!r}."
        )
    return int(value)


class LearnedPrior:
    """The learned prior scale and thresholds of a ``SparseVAE`` (a mixin).

    The model sets ``latent_dim``, ``prior_spec``, ``prior_scale``,
    ``prior_df``, ``slab_probability``, ``learn_prior_scale``, ``threshold``,
    ``threshold_prior`` and ``train_size``, and its fixed prior as
    ``fixed_prior``, then calls ``add_learned_prior_weights``.
    """

    def add_learned_prior_weights(self):
        """Create the raw weights of a learned scale and learned thresholds."""
        if self.learn_prior_scale is not None:
            shape = () if self.learn_prior_scale == "shared" else (self.latent_dim,)
            self.raw_prior_scale = self.add_weight(
                shape=shape,
                initializer=keras.initializers.Constant(inverse_softplus(self.prior_scale)),
                name="raw_prior_scale",
            )
        if self.threshold == "learned":  # softplus(raw) starts at the Gamma prior's mean
            mean = self.threshold_prior[0] / self.threshold_prior[1]
            self.raw_threshold = self.add_weight(
                shape=(self.latent_dim,),
                initializer=keras.initializers.Constant(inverse_softplus(mean)),
                name="raw_threshold",
            )

    @property
    def prior(self):
        """p(z): the fixed prior, or the named prior at the learned scale."""
        if self.learn_prior_scale is None:
            return self.fixed_prior
        return named_prior(
            self.prior_spec,
            self.latent_dim,
            self.prior_scales(),
            df=self.prior_df,
            slab_probability=self.slab_probability,
        )

    def prior_scales(self):
        """The prior's scale per latent, [latent_dim] (learned or fixed)."""
        if self.learn_prior_scale is None:
            return tf.fill([self.latent_dim], self.prior_scale)
        scale = keras.ops.softplus(tf.cast(self.raw_prior_scale, "float32"))
        return tf.broadcast_to(scale, [self.latent_dim])

    def thresholds(self):
        """The per-latent thresholds of exact zeros (None without threshold=)."""
        if self.threshold == "learned":
            return keras.ops.softplus(self.raw_threshold)
        return None if self.threshold is None else tf.fill([self.latent_dim], self.threshold)

    def learned_prior_losses(self):
        """Terms the step adds to the batch's mean loss: the learned thresholds'
        Gamma prior (-log density), over ``train_size`` when it is known (one
        prior for the whole training set), else once per step."""
        if self.threshold != "learned":
            return []
        term = threshold_kl(self.thresholds(), *self.threshold_prior)
        if self.train_size is not None:
            term = term / float(self.train_size)
        return [tf.cast(self.kl_weight, "float32") * term]
