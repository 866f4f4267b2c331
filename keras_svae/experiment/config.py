"""What defines one training run: the data set's defaults and the overrides."""

import dataclasses

from keras_svae.arguments import check_threshold
from keras_svae.distributions import (
    DEFAULT_DF,
    DEFAULT_SLAB_PROBABILITY,
    check_df,
    check_pairing,
    check_slab_probability,
)
from keras_svae.experiment.presets import PRESETS, check_quirk_fields
from keras_svae.learned_prior import check_learn_prior_scale
from keras_svae.names import OBJECTIVES, POSTERIORS, PRIORS, lookup, paper_posterior
from keras_svae.thresholds import THRESHOLD_PRIOR
from keras_svae.validation import check_number, check_positive_int, check_scale

DATASETS = ("synthetic", "mnist", "cifar", "bsds", "toy")
# How the data are made and trained on: a preset of keras_svae.experiment.presets
# ("library", "paper" or "author", the paper plus its notebooks' quirks).
RECIPES = tuple(PRESETS)
SYNTHETIC_COEFFICIENTS = ("normal", "cauchy")
# Whitening of the library recipe's patches (cifar, bsds); "none" keeps them
# mean-removed and scaled to unit standard deviation.
WHITENING = ("zca", "pca", "none")
# How learned thresholds' Gamma prior enters the per-example loss: over the
# training set's size, or once per step (the behaviour before 0.3).
THRESHOLD_PRIOR_WEIGHTINGS = ("train_set", "step")
# lam of the paper's loss "summed squared error + lam * KL" per data set (its
# notebooks; the toy's MATLAB loss is not published, MNIST's value is assumed):
# a Gaussian likelihood with fixed scale sqrt(lam / 2).
PAPER_LAMBDA = {"synthetic": 0.5, "mnist": 1.0, "cifar": 0.05, "toy": 1.0}

# Each data set's settings; command-line flags override them.
# jit_compile: XLA where it measured faster (the MNIST MLP, BENCHMARKS.md); on
# the small synthetic model the XLA compile outweighs the gain.
# synthetic: a constant learning rate of 6e-3, batches of 200, 40 epochs. With
# the rate decayed (1e-3 to 1e-4 over 30 epochs, the earlier default) the
# Laplace model stopped at mixtures of the true bases (worst matched cosine
# 0.69-0.72); constant, it rotates onto them (worst 0.96-0.98 over seeds 0-2,
# measured in one run against 0.95-0.99 for 60 epochs of batches of 100 at
# 3e-3, which took 1.6x as long).
# mnist: a 3-epoch KL warm-up (issue 18): without it the Cauchy model used 4 of
# 10 latents (IWAE -129.0, seed 0, 8 epochs of the reproduction grid's library
# preset); with it 10 of 10 (IWAE -113.7). The Normal model gains little
# (-103.56 to -103.03): the warm-up is the remedy the Cauchy prior needs, and
# every prior gets it so that the comparisons stay like for like.
# cifar: the patches that did not collapse in the reproduction grid's library
# preset and the beyond comparison: mean-removed and unit-std, not whitened (ZCA
# caps 25 latents near 25/144 of the variance), a FIXED noise scale 0.5 (a
# learned one shrinks to the noise and the latents go unused) and a 3-epoch KL
# warm-up. With the earlier defaults (ZCA, learned scale, no warm-up) all three
# priors collapsed (explained variance 0.06, 0.08, -0.001).
# bsds: the overcomplete natural-image experiment (the published SVAE's model):
# ZCA-whitened 12x12 patches (unit variance per pixel), 169 latents, linear
# decoder, batches of 32 at a constant 1e-3, 15 epochs, XLA, and a FIXED noise
# scale of 0.4, chosen by the held-out bound: Laplace prior, 36,000 patches,
# 10 epochs, IWAE (k = 200) on 1,000 held-out patches per noise scale
# 0.135 (e^-2, the published model's) / 0.25 / 0.4 / 0.6: -258.6 / -190.5 /
# -178.0 / -181.1 nats (2026-12-05).
# fmt: off
DATASET_DEFAULTS = {
    "synthetic": dict(latent_dim=10, decoder="linear", encoder_units=(64,), decoder_units=(),
                      epochs=40, batch_size=200, learning_rate=6e-3, final_learning_rate=6e-3,
                      jit_compile=False, iwae_k=1000, n_eval=2000),
    "mnist": dict(latent_dim=10, decoder="mlp", encoder_units=(512, 256),
                  decoder_units=(256, 512), epochs=20, batch_size=128, learning_rate=1e-3,
                  final_learning_rate=1e-4, jit_compile=True, iwae_k=1000, n_eval=1000,
                  kl_warmup_epochs=3),
    "cifar": dict(latent_dim=25, decoder="linear", encoder_units=(256,), decoder_units=(),
                  epochs=25, batch_size=128, learning_rate=1e-3, final_learning_rate=1e-4,
                  jit_compile=False, iwae_k=1000, n_eval=1000, whiten="none",
                  likelihood_scale=0.5, learn_likelihood_scale=False, kl_warmup_epochs=3),
    "bsds": dict(latent_dim=169, decoder="linear", encoder_units=(256,), decoder_units=(),
                 epochs=15, batch_size=32, learning_rate=1e-3, final_learning_rate=1e-3,
                 jit_compile=True, iwae_k=1000, n_eval=1000, whiten="zca",
                 likelihood_scale=0.4, learn_likelihood_scale=False, patches_per_image=300),
    "toy": dict(latent_dim=2, decoder="mlp", encoder_units=(64,), decoder_units=(64,),
                epochs=30, batch_size=100, learning_rate=1e-3, final_learning_rate=1e-4,
                jit_compile=False, iwae_k=1000, n_eval=2000),
}
# fmt: on
# The library recipe's choices of data, noise scale and KL warm-up: the paper
# recipe makes its data and likelihood as the author's notebooks did (and
# trains without a warm-up), so a data set's defaults for these do not apply to it.
LIBRARY_RECIPE_FIELDS = ("whiten", "likelihood_scale", "learn_likelihood_scale", "kl_warmup_epochs")
# Adam's clipping of the gradient's global norm: a Cauchy posterior's rare,
# enormous draws would otherwise flood its moment estimates (SparseVAE.compile).
DEFAULT_CLIPNORM = 10.0
# What these fields hold where neither the data set nor the config says.
FALLBACK_DEFAULTS = dict(whiten="zca", kl_warmup_epochs=0)


@dataclasses.dataclass
class ExperimentConfig:
    """Everything that defines one training run (stored in metrics.json).

    ``None`` fields take the data set's default from ``DATASET_DEFAULTS``
    (for the paper recipe, not those of ``LIBRARY_RECIPE_FIELDS``), then
    ``FALLBACK_DEFAULTS``.
    The model options go to ``SparseVAE`` (see ``check_model_options``).

    Attributes:
        data: the data set, one of ``DATASETS``.
        prior: the prior, one of ``keras_svae.PRIORS``.
        posterior: the posterior family (None: the prior's natural pairing).
        prior_df: the Student-t prior's degrees of freedom.
        slab_probability: the spike-and-slab prior's chance of a non-zero latent.
        prior_scale: the prior's scale, the slab's for the spike-and-slab (None: 1).
        threshold: None, a number >= 0 or "learned": exact zeros for Normal
            and Laplace posteriors.
        threshold_prior: the learned thresholds' Gamma (concentration, rate)
            (None: SparseVAE's (2, 20)).
        threshold_prior_weighting: how learned thresholds' prior term enters
            the per-example loss: "train_set" (divided by the number of
            training examples, one prior for the data set; the default with
            threshold="learned") or "step" (once per step, before 0.3).
        unit_norm_decoder: keep the linear decoder's columns at unit norm.
        learn_prior_scale: None, "shared" or "per_latent" (SparseVAE's).
        resample_every: re-initialise dead atoms (``ResampleDeadAtoms``)
            after every this many epochs in the first half of training (0:
            never; linear decoders).
        objective: "elbo", or "iwae" with k = ``n_samples``.
        latent_dim: the number of latents.
        epochs: passes over the training data.
        batch_size: examples per step (the global batch under a strategy).
        learning_rate: Adam's first learning rate.
        final_learning_rate: the rate it decays to, exponentially, by the end.
        n_samples: latent draws per example in each step.
        beta: the KL term's weight.
        kl: "auto", "analytic" or "sampled".
        kl_warmup_epochs: epochs over which the KL weight ramps from 0 to
            ``beta`` (0: no warm-up; None: the data set's, 0 for the paper
            recipe).
        encoder: the encoder's name.
        decoder: the decoder's name.
        encoder_units: the MLP encoder's hidden sizes.
        decoder_units: the MLP decoder's hidden sizes.
        seed: seeds the data, the weights and the sampling.
        jit_compile: train with XLA (None: the data set's measured choice).
        steps_per_execution: training steps per compiled call.
        checkpoint_steps: also checkpoint every this many steps (None: once an
            epoch), for long epochs.
        iwae_k: importance samples per example of the reported IWAE bound.
        n_eval: the first test examples the bound is measured on.
        data_dir: where the data files are (None: tfds or generated).
        n_train: generated training examples (synthetic, toy).
        n_test: generated test examples (synthetic, toy).
        noise_std: the synthetic patches' noise (and Gaussian scale).
        recipe: the preset the data are made and trained by, one of
            ``RECIPES`` (``keras_svae.experiment.presets``).
        coefficients: the paper recipe's synthetic z ("normal", or "cauchy"
            as in the author's Cauchy notebook).
        likelihood: overrides the data set's likelihood when not None.
        likelihood_scale: overrides its Gaussian scale when not None (the
            paper's loss "squared error + lam * KL" is a fixed sqrt(lam / 2));
            None: the data set's (cifar 0.5, bsds 0.4, fixed) for the library
            recipe.
        learn_likelihood_scale: overrides whether that scale is learned.
        activation: the named networks' hidden activation.
        decoder_activation: the named decoder's output activation.
        scale_activation: the encoder's scale output: "softplus" or the
            paper's "exp".
        max_train: keep only the first training examples (quick runs).
        max_test: keep only the first test examples (quick runs).
        tag: names a variant apart from the others.
        whiten: the library recipe's patch whitening, one of ``WHITENING``
            (None: the data set's, cifar "none", bsds "zca").
        noise: SparseVAE's "fresh", "epoch" (one noise matrix of
            ``batch_size`` rows per epoch), "quasi" (randomised Sobol points)
            or "fixed" (one matrix for the whole run: a notebook bug reproduced).
        clipnorm: Adam clips the gradient's global norm at this (10).
        noise_alpha: the fixed noise's alpha-stable index (None: the
            posterior family's own noise).
        kl_quirk: None, or SparseVAE's "variance_as_scale" (a notebook bug).
        patches_per_image: random training crops per photograph (bsds only;
            None: the data set's, 300, or the loader's 100 where it has none).
    """

    data: str = "synthetic"
    prior: str = "laplace"
    posterior: str | None = None
    prior_df: float | None = None
    slab_probability: float | None = None
    prior_scale: float | None = None
    threshold: float | str | None = None
    threshold_prior: tuple | None = None
    threshold_prior_weighting: str | None = None
    unit_norm_decoder: bool = False
    learn_prior_scale: str | None = None
    resample_every: int = 0
    objective: str = "elbo"
    latent_dim: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    final_learning_rate: float | None = None
    n_samples: int = 1
    beta: float = 1.0
    kl: str = "auto"
    kl_warmup_epochs: int | None = None
    encoder: str = "mlp"
    decoder: str | None = None
    encoder_units: tuple | None = None
    decoder_units: tuple | None = None
    seed: int = 0
    jit_compile: bool | None = None
    steps_per_execution: int = 32
    checkpoint_steps: int | None = None
    iwae_k: int | None = None
    n_eval: int | None = None
    data_dir: str | None = None
    n_train: int = 20000
    n_test: int = 2000
    noise_std: float = 0.1
    recipe: str = "library"
    coefficients: str = "normal"
    likelihood: str | None = None
    likelihood_scale: float | None = None
    learn_likelihood_scale: bool | None = None
    activation: str = "relu"
    decoder_activation: str | None = None
    scale_activation: str = "softplus"
    max_train: int | None = None
    max_test: int | None = None
    tag: str = ""
    whiten: str | None = None
    noise: str = "fresh"
    clipnorm: float = DEFAULT_CLIPNORM
    noise_alpha: float | None = None
    kl_quirk: str | None = None
    patches_per_image: int | None = None

    def __post_init__(self):
        self.data = lookup(self.data, DATASETS, "data set")
        self.prior = lookup(self.prior, PRIORS, "prior")
        self.recipe = lookup(self.recipe, RECIPES, "data recipe")
        self.coefficients = lookup(self.coefficients, SYNTHETIC_COEFFICIENTS, "coefficients")
        check_model_options(self)
        if self.patches_per_image is not None and self.data != "bsds":
            raise ValueError(
                "patches_per_image is the random crops per photograph of --data bsds; "
                f"the {self.data} data set has no such setting. Leave it out."
            )
        for key in ("max_train", "max_test", "checkpoint_steps", "patches_per_image"):
            if getattr(self, key) is not None:
                check_positive_int(getattr(self, key), key)
        if self.likelihood_scale is not None:
            check_number(self.likelihood_scale, "likelihood_scale", minimum=1e-12)
        if not isinstance(self.tag, str) or not all(c.isalnum() or c in "-_" for c in self.tag):
            raise ValueError(f"tag must be letters, digits, '-' or '_', got {self.tag!r}.")
        for key, value in DATASET_DEFAULTS[self.data].items():
            if getattr(self, key) is None and (
                self.recipe == "library" or key not in LIBRARY_RECIPE_FIELDS
            ):
                setattr(self, key, value)
        for key, value in FALLBACK_DEFAULTS.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self.whiten = lookup(self.whiten, WHITENING, "whiten")
        for key in (
            "latent_dim",
            "epochs",
            "batch_size",
            "n_samples",
            "steps_per_execution",
            "iwae_k",
            "n_eval",
            "n_train",
            "n_test",
        ):
            check_positive_int(getattr(self, key), key)
        if (
            isinstance(self.kl_warmup_epochs, bool)
            or not isinstance(self.kl_warmup_epochs, int)
            or self.kl_warmup_epochs < 0
        ):
            raise ValueError(
                f"kl_warmup_epochs must be an integer >= 0, got {self.kl_warmup_epochs!r}."
            )
        for key in ("learning_rate", "final_learning_rate"):
            check_number(getattr(self, key), key, minimum=1e-12)
        check_number(self.beta, "beta", minimum=0.0)
        self.clipnorm = check_scale(self.clipnorm, "clipnorm")
        check_quirk_fields(self)
        self.encoder_units = tuple(self.encoder_units)
        self.decoder_units = tuple(self.decoder_units)

    @property
    def name(self):
        """The run's folder name: data, prior and latents, then only the options
        that differ from their defaults (so runs that differ in them do not
        share a folder, and the paper's runs keep their names)."""
        parts = [self.data, self.prior]
        if self.prior_df is not None:
            parts.append(f"df{self.prior_df:g}")
        if self.slab_probability is not None:
            parts.append(f"slab{self.slab_probability:g}")
        if self.prior_scale is not None:
            parts.append(f"scale{self.prior_scale:g}")
        parts.append(f"z{self.latent_dim}")
        if self.posterior is not None:
            parts.append(f"{self.posterior}_posterior")
        if self.threshold is not None:
            threshold = self.threshold
            parts.append(
                "threshold_learned" if threshold == "learned" else f"threshold{threshold:g}"
            )
        if self.threshold_prior is not None:
            parts.append("gamma{:g}_{:g}".format(*self.threshold_prior))
        if self.threshold_prior_weighting == "step":
            parts.append("gamma_per_step")
        if self.unit_norm_decoder:
            parts.append("unitnorm")
        if self.learn_prior_scale is not None:
            parts.append(f"scale_{self.learn_prior_scale}")
        if self.resample_every:
            parts.append(f"resample{self.resample_every}")
        if self.objective != "elbo":
            parts.append(f"{self.objective}{self.n_samples}")
        if self.noise != "fresh":
            parts.append(
                f"{self.noise}_noise"
                + ("" if self.noise_alpha is None else f"_alpha{self.noise_alpha:g}")
            )
        if self.clipnorm != DEFAULT_CLIPNORM:
            parts.append(f"clip{self.clipnorm:g}")
        if self.kl_quirk is not None:
            parts.append(f"kl_{self.kl_quirk}")
        if self.tag:
            parts.append(self.tag)
        return "-".join(parts)


def check_model_options(config):
    """Check and canonicalise a config's prior and posterior options in place.

    ``posterior``, ``prior_df``, ``slab_probability``, ``prior_scale`` and
    ``threshold_prior`` equal to their defaults (the paper's pairing, 3, 0.5,
    1, (2, 20)) become None, so a run that names a
    default has the config (and the folder) of one that does not.
    """
    if config.posterior is not None:
        config.posterior = lookup(config.posterior, POSTERIORS, "posterior")
        if config.posterior == paper_posterior(config.prior):
            config.posterior = None
    posterior = config.posterior or paper_posterior(config.prior)
    check_pairing(posterior, config.prior)
    for key, owner, check, default in (
        ("prior_df", "student_t", check_df, DEFAULT_DF),
        ("slab_probability", "spike_slab", check_slab_probability, DEFAULT_SLAB_PROBABILITY),
    ):
        value = getattr(config, key)
        if value is None:
            continue
        if config.prior != owner:
            raise ValueError(f"{key} applies to the {owner!r} prior only, not to {config.prior!r}.")
        value = check(value)
        setattr(config, key, None if value == default else value)
    if config.prior_scale is not None:
        config.prior_scale = check_scale(config.prior_scale, "prior_scale")
        config.prior_scale = None if config.prior_scale == 1.0 else config.prior_scale
    config.objective = lookup(config.objective, OBJECTIVES, "objective")
    gamma = THRESHOLD_PRIOR if config.threshold_prior is None else config.threshold_prior
    config.threshold, gamma = check_threshold(config.threshold, gamma, posterior, config.objective)
    if config.threshold_prior is not None and config.threshold != "learned":
        raise ValueError(
            "threshold_prior is the Gamma prior of learned thresholds: it applies with "
            f"threshold='learned' only, not threshold={config.threshold!r}."
        )
    config.threshold_prior = None if gamma == THRESHOLD_PRIOR else gamma
    weighting = config.threshold_prior_weighting
    if config.threshold != "learned":
        if weighting is not None:
            raise ValueError(
                "threshold_prior_weighting weighs the prior of learned thresholds: it applies "
                f"with threshold='learned' only, not threshold={config.threshold!r}."
            )
    else:
        config.threshold_prior_weighting = lookup(
            weighting or "train_set", THRESHOLD_PRIOR_WEIGHTINGS, "threshold_prior_weighting"
        )
    config.learn_prior_scale = check_learn_prior_scale(config.learn_prior_scale, config.prior)
    if not isinstance(config.unit_norm_decoder, bool):
        raise ValueError(
            f"unit_norm_decoder must be true or false, got {config.unit_norm_decoder!r}."
        )
    every = config.resample_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ValueError(f"resample_every must be an integer >= 0 (epochs), got {every!r}.")
