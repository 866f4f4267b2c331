"""The reparameterisation noise's options and the paper author's notebooks'
computation, as options that default off.

The public TF1 notebooks behind the paper (``SVAE.ipynb``, ``SVAE-laplace.ipynb``,
``SVAE-cauchy.ipynb``) compute two things a correct VAE does not. Each is an
option of ``SparseVAE`` so that the ``author`` preset can reproduce the
notebooks exactly; each reproduces a bug, not a method:

- ``noise="fixed"``: the Cauchy notebook draws its reparameterisation noise
  with numpy while the graph is built, so every training step reuses one
  [batch_size, latent_dim] matrix (common random numbers frozen for the whole
  run; rows meet other examples as batches are shuffled). Here the matrix is
  drawn from the model's seed when the model is made and kept as a
  non-trainable weight, so ``save`` / ``load_model`` and checkpoints carry it.
  Only training steps use it; evaluation draws fresh noise.
- ``kl_quirk="variance_as_scale"``: the Normal notebooks sample
  z = mu + exp(l) * eps (standard deviation exp(l)) but penalise
  -0.5 * sum(1 + l - mu^2 - exp(l)), the closed-form KL of a Normal whose
  *variance* is exp(l): small scales are under-penalised. The loss uses that
  formula; the reported ``kl`` stays the true KL of the sampled posterior.
  The saved Laplace notebook computes the same Normal KL (its sampled Laplace
  KL commented out): a Laplace-prior model with this option is that state.

Two noise options are methods, not bugs: they keep the sampled gradient
unbiased while lowering its variance (the Cauchy posterior's heavy tails make
fresh noise's gradient so noisy that the paper's Cauchy model collapses):

- ``noise="epoch"``: common random numbers redrawn once per epoch. One
  [batch_size, latent_dim] matrix (the same weight as "fixed") serves every
  training step of an epoch and is redrawn at the epoch's start from
  (seed, epoch), by the `RedrawNoise` callback ``fit`` adds; a resumed run
  redraws its epoch's matrix exactly.
- ``noise="quasi"``: randomised quasi-Monte Carlo. The weight holds a
  scrambled Sobol point set (uniforms, one row per example of a batch); every
  training step shifts it by a fresh uniform vector modulo 1 (a
  Cranley-Patterson rotation) and maps it through the posterior family's
  inverse CDF, so each draw is exactly distributed and a batch's draws cover
  the latent space evenly.

Only training steps use these; evaluation draws fresh noise.
"""

import keras
import numpy as np
import tensorflow as tf
from scipy import stats

from keras_svae import distribute
from keras_svae.kl import kl_divergence
from keras_svae.names import lookup
from keras_svae.validation import check_number, check_positive_int, data_error_message

NOISE_MODES = ("fresh", "fixed", "epoch", "quasi")
# The modes that hold a [n_samples, batch_size, latent_dim] matrix, whose
# batches must have noise_batch_size examples.
MATRIX_MODES = ("fixed", "epoch", "quasi")
# quasi: uniforms kept this far from 0 and 1, where inverse CDFs are infinite.
QUASI_MARGIN = 1e-6
KL_QUIRKS = ("variance_as_scale",)
# The standard member of each location-scale posterior family, drawn by numpy.
STANDARD_NOISE = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "laplace": lambda rng, shape: rng.laplace(size=shape),
    "cauchy": lambda rng, shape: rng.standard_cauchy(shape),
}


def check_noise(noise, noise_batch_size, noise_alpha, posterior_family):
    """Return ``(noise, noise_batch_size, noise_alpha)`` checked.

    Args:
        noise: "fresh" (new noise every step), "fixed" (one matrix per
            model, a notebook bug), "epoch" (one matrix per epoch) or "quasi"
            (a randomised Sobol point set per step).
        noise_batch_size: the training batch size, required with a matrix
            (every mode but "fresh").
        noise_alpha: None (the posterior family's standard noise) or the
            stability index in (0, 2] of a symmetric alpha-stable law to draw
            the "fixed" or "epoch" matrix from (1: standard Cauchy; 2: Normal
            with standard deviation sqrt(2), the law's standard scale).
        posterior_family: the model's posterior family name.

    Returns:
        The three values, canonical (``noise_alpha`` a float or None).

    Raises:
        ValueError: for an unknown mode, a matrix without a batch size or
            for a posterior that is not location-scale, the batch size or
            alpha given with "fresh" noise, and alpha given with "quasi".
    """
    noise = lookup(noise, NOISE_MODES, "noise")
    if noise == "fresh":
        if noise_batch_size is not None or noise_alpha is not None:
            raise ValueError(
                "noise_batch_size and noise_alpha shape the noise of noise='fixed'; "
                "with noise='fresh' (new noise every step) drop them, or pass noise='fixed'."
            )
        return noise, None, None
    if posterior_family not in STANDARD_NOISE:
        raise ValueError(
            f"noise={noise!r} draws z = loc + scale * eps, which needs a location-scale "
            f"posterior ({', '.join(STANDARD_NOISE)}), not {posterior_family!r}."
        )
    if noise_batch_size is None:
        raise ValueError(
            f"noise={noise!r} draws one [batch_size, latent_dim] noise matrix when the model "
            "is made: pass noise_batch_size=<the training batch size>."
        )
    noise_batch_size = check_positive_int(noise_batch_size, "noise_batch_size")
    if noise == "quasi" and noise_alpha is not None:
        raise ValueError(
            "noise='quasi' maps Sobol points through the posterior family's inverse CDF; "
            "an alpha-stable law has no closed-form one. Drop noise_alpha, or pass "
            "noise='epoch' to draw alpha-stable noise once per epoch."
        )
    if noise_alpha is not None:
        noise_alpha = check_number(noise_alpha, "noise_alpha", minimum=1e-6)
        if noise_alpha > 2.0:
            raise ValueError(
                f"noise_alpha is an alpha-stable law's index, in (0, 2] (1: Cauchy, "
                f"2: Normal), got {noise_alpha!r}."
            )
    return noise, noise_batch_size, noise_alpha


def check_kl_quirk(kl_quirk, model):
    """Return ``kl_quirk`` checked against the model's other options.

    Args:
        kl_quirk: None, or "variance_as_scale" (the Normal notebooks' KL).
        model: the SparseVAE being made (its posterior, prior, scale
            activation, KL mode and objective are set).

    Returns:
        None or "variance_as_scale".

    Raises:
        ValueError: for an unknown name, or a model whose sampling the
            notebook formula does not describe.
    """
    if kl_quirk is None:
        return None
    kl_quirk = lookup(kl_quirk, KL_QUIRKS, "kl_quirk")
    if model.posterior_family != "normal" or model.prior_spec not in ("normal", "laplace"):
        raise ValueError(
            f"kl_quirk='variance_as_scale' is the Normal notebooks' KL against N(0, 1): it "
            f"needs posterior='normal' and prior='normal' (or 'laplace', the saved Laplace "
            f"notebook's state), not {model.posterior_family!r} and {model.prior_spec!r}."
        )
    problems = {
        "scale_activation='exp'": model.scale_activation == "exp",
        "prior_scale=1": model.prior_scale == 1.0 and model.learn_prior_scale is None,
        "objective='elbo'": model.objective == "elbo",
    }
    missing = [name for name, ok in problems.items() if not ok]
    if missing:
        raise ValueError(
            f"kl_quirk='variance_as_scale' reproduces the notebooks' loss, whose scale is "
            f"exp(l); it needs {', '.join(missing)} (a fixed prior scale)."
        )
    return kl_quirk


def variance_as_scale_kl(q):
    """The Normal notebooks' KL: -0.5 * sum(1 + l - mu^2 - exp(l)) with
    exp(l) the posterior's standard deviation (the closed form is for a
    Normal of variance exp(l)); a bug reproduced, not a KL.

    Args:
        q: an ``Independent(Normal(mu, exp(l)))`` posterior, [batch, latent].

    Returns:
        A [batch] tensor.
    """
    normal = q.distribution
    scale = tf.convert_to_tensor(normal.scale)
    terms = 1.0 + tf.math.log(scale) - tf.square(normal.loc) - scale
    return -0.5 * tf.reduce_sum(terms, axis=-1)


def draw_fixed_noise(shape, family, alpha, seed):
    """The fixed noise matrix, drawn by numpy from ``seed`` (None: unseeded).

    Args:
        shape: (n_samples, batch_size, latent_dim).
        family: the posterior family whose standard member is drawn.
        alpha: None, or the alpha-stable index to draw from instead.
        seed: an int, a sequence of ints (e.g. (seed, epoch)) or None.

    Returns:
        A float32 array of ``shape``.
    """
    rng = np.random.default_rng(seed)
    if alpha is None:
        return STANDARD_NOISE[family](rng, shape).astype("float32")
    return stats.levy_stable.rvs(alpha, 0.0, size=shape, random_state=rng).astype("float32")


def draw_sobol_points(shape, seed):
    """A scrambled Sobol point set in [0, 1) of ``shape``, one point of
    latent_dim coordinates per row (the first n of 2^m points, m the least
    that holds them).

    Args:
        shape: (n_samples, batch_size, latent_dim).
        seed: an int or None (the scrambling's).

    Returns:
        A float32 array of ``shape``.
    """
    n_samples, batch_size, latent_dim = shape
    n = n_samples * batch_size
    sobol = stats.qmc.Sobol(latent_dim, scramble=True, seed=np.random.default_rng(seed))
    points = sobol.random_base2(max(0, int(np.ceil(np.log2(n)))))[:n]
    return points.reshape(shape).astype("float32")


def matrix_for_epoch(model, epoch):
    """The noise matrix of ``model`` (noise="fixed", "epoch" or "quasi") for
    ``epoch``: "epoch" draws a new one from (seed, epoch), the others keep
    the one drawn from the seed.

    Args:
        model: a SparseVAE whose noise holds a matrix.
        epoch: the epoch (0 for the matrix drawn when the model is made).

    Returns:
        A float32 array of the matrix's shape.
    """
    shape = (model.n_samples, model.noise_batch_size, model.latent_dim)
    if model.noise == "quasi":
        return draw_sobol_points(shape, model.seed)
    seed = model.seed if model.noise == "fixed" or model.seed is None else (model.seed, epoch)
    return draw_fixed_noise(shape, model.posterior_family, model.noise_alpha, seed)


class RedrawNoise(keras.callbacks.Callback):
    """Redraw the noise matrix of a noise="epoch" model at each epoch's start,
    from (seed, epoch) (``SparseVAE.fit`` adds it itself)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Assign the epoch's matrix.

        Args:
            epoch: the epoch about to train (counted from 0, also on resume).
            logs: unused.
        """
        self.model.fixed_noise.assign(matrix_for_epoch(self.model, epoch))


class NotebookQuirks:
    """The noise options and the notebooks' KL of a ``SparseVAE`` (a mixin).

    The model sets ``posterior_family``, ``prior_spec``, ``prior_scale``,
    ``learn_prior_scale``, ``scale_activation``, ``kl_mode``, ``objective``,
    ``kl_is_analytic``, ``n_samples``, ``latent_dim`` and ``seed``, then calls
    ``add_notebook_quirks``.
    """

    def add_notebook_quirks(self, noise, noise_batch_size, noise_alpha, kl_quirk):
        """Check the options and create the noise matrix's weight."""
        self.noise, self.noise_batch_size, self.noise_alpha = check_noise(
            noise, noise_batch_size, noise_alpha, self.posterior_family
        )
        self.kl_quirk = check_kl_quirk(kl_quirk, self)
        if self.noise in MATRIX_MODES:
            shape = (self.n_samples, self.noise_batch_size, self.latent_dim)
            self.fixed_noise = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, name="fixed_noise"
            )
            self.fixed_noise.assign(matrix_for_epoch(self, 0))

    def noise_callbacks(self):
        """The callbacks ``fit`` adds: `RedrawNoise` for noise="epoch"."""
        return [RedrawNoise()] if self.noise == "epoch" else []

    def training_latents(self, q, seed, layout, training):
        """``n_samples`` draws of z from the location-scale posterior ``q``:
        in training steps loc + scale * the noise matrix (noise="fixed" or
        "epoch"; for "quasi" its points shifted by a uniform vector from
        ``seed`` and mapped through the inverse CDF), else
        ``distribute.draw_latents`` (fresh noise from ``seed``)."""
        if self.noise not in MATRIX_MODES or not training:
            return distribute.draw_latents(q, self.n_samples, seed, layout)
        family = q.distribution  # Normal, Laplace or Cauchy
        size = tf.shape(family.loc)[0]
        split = layout is not None and layout.replicas > 1
        batch = layout.size if split else size
        static = None if split else family.loc.shape[0]
        if static is not None and static != self.noise_batch_size:
            raise ValueError(self._batch_message(static))
        check = tf.debugging.assert_equal(
            batch, self.noise_batch_size, message=data_error_message(self._batch_message())
        )
        # Rows by position modulo the matrix's rows, so that a batch of another
        # size reaches the check above, not a shape error deep in the step.
        offset = layout.offset if split else 0
        rows = (tf.range(size) + offset) % self.noise_batch_size
        noise = tf.gather(self.fixed_noise, rows, axis=1)
        if not split and getattr(self, "jit_compile", False):
            # XLA drops the check: a shape error then, never a silent reuse of rows.
            noise = tf.reshape(noise, [self.n_samples, self.noise_batch_size, self.latent_dim])
        if self.noise == "quasi":
            shift = tf.random.stateless_uniform([self.latent_dim], seed=seed)
            uniform = tf.clip_by_value(
                tf.math.floormod(noise + shift, 1.0), QUASI_MARGIN, 1.0 - QUASI_MARGIN
            )
            noise = type(family)(loc=0.0, scale=1.0).quantile(uniform)
        with tf.control_dependencies([check]):
            return tf.identity(family.loc + family.scale * noise)

    def check_noise_batches(self, x, batch_size):
        """Refuse, before training, data whose batches the fixed noise does
        not fit (the in-step check is dropped under XLA).

        Args:
            x: the training data: an array or a batched ``tf.data.Dataset``
                (whose batch size is checked when its shape says it).
            batch_size: ``fit``'s batch size for arrays (None: Keras' 32).

        Raises:
            ValueError: when a batch would have another number of examples.
        """
        if self.noise not in MATRIX_MODES:
            return
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, tuple) else spec
            size = spec.shape[0] if spec.shape.rank else None
            sizes = [] if size is None else [size]
        else:
            batch_size = batch_size or 32
            sizes = [batch_size] + ([len(x) % batch_size] if len(x) % batch_size else [])
        for size in sizes:
            if size != self.noise_batch_size:
                raise ValueError(self._batch_message(size))

    def _batch_message(self, size="another number of"):
        return (
            f"noise={self.noise!r} holds one noise matrix for batches of {self.noise_batch_size} "
            f"examples; a training batch had {size} examples. Train with "
            f"batch_size={self.noise_batch_size} and a number of examples it divides "
            "(or a pipeline with drop_remainder=True)."
        )

    def kl_penalty(self, q, kl):
        """The KL term the loss weighs: ``kl``, or the notebooks' formula
        with kl_quirk="variance_as_scale"."""
        return kl if self.kl_quirk is None else variance_as_scale_kl(q)

    def kl_term(self, q, z):
        """KL(q || p) per example: closed form or sampled on ``z``, as the
        model decided when made."""
        mode = "analytic" if self.kl_is_analytic else "sampled"
        return kl_divergence(q, self.prior, z, mode=mode)
