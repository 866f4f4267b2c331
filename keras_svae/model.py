"""SparseVAE: the model, its steps and its config (the loss: its class docstring)."""

import keras
import tensorflow as tf

from keras_svae import distribute, validation
from keras_svae.distributions import make_prior
from keras_svae.fused import FusedExecution
from keras_svae.inputs import CheckedInputs
from keras_svae.kl import uses_closed_form
from keras_svae.learned_prior import LearnedPrior, check_learn_prior_scale, check_train_size
from keras_svae.likelihoods import make_likelihood
from keras_svae.names import (
    DECODERS,
    ENCODERS,
    KL_MODES,
    OBJECTIVES,
    POSTERIORS,
    SCALE_ACTIVATIONS,
    lookup,
    paper_posterior,
)
from keras_svae.networks import make_networks
from keras_svae.posteriors import posterior_from_params, posterior_width
from keras_svae.quirks import NotebookQuirks
from keras_svae.serialization import AtomicSaving, deserialize_option, serialize_option
from keras_svae.thresholds import THRESHOLD_PRIOR, Thresholded, soft_threshold
from keras_svae.validation import check_number, check_positive_int, check_scale


@keras.saving.register_keras_serializable(package="keras_svae")
class SparseVAE(
    CheckedInputs, AtomicSaving, FusedExecution, LearnedPrior, NotebookQuirks, keras.Model
):
    """A variational auto-encoder with a sparsity-promoting prior.

    The loss is the negative ELBO per example, -E_q[log p(x given z)] + beta *
    KL(q(z given x) || p(z)), averaged over the batch (weighted by
    ``sample_weight``), on ``n_samples`` reparameterised draws from one
    posterior; the KL is TFP's closed form where one is registered, else
    estimated from those draws.

    Args:
        latent_dim: number of latent variables.
        prior: a name of ``keras_svae.PRIORS`` ("normal", "laplace", "cauchy",
            "student_t", "spike_slab", "horseshoe"), a ``tfd.Distribution``
            with event shape [latent_dim], or a factory ``f(latent_dim, dtype)``.
        prior_scale: scale of a named prior (the slab's for "spike_slab"); the
            starting value of a learned one.
        learn_prior_scale: None, "shared" or "per_latent": learn the named
            location-scale prior's scale by the ELBO (``keras_svae.learned_prior``).
        prior_df: the "student_t" prior's degrees of freedom (1 is Cauchy).
        slab_probability: the "spike_slab" prior's chance of a non-zero latent.
        posterior: a name of ``keras_svae.POSTERIORS`` ("normal", "laplace",
            "cauchy", "spike_slab"); None takes the prior's natural pairing
            (Cauchy for Cauchy, spike-and-slab for spike-and-slab, else Normal).
        likelihood: "gaussian", "bernoulli" or a ``Likelihood`` layer.
        likelihood_scale: noise standard deviation of the Gaussian likelihood.
        learn_likelihood_scale: train that scale instead of fixing it.
        encoder: "mlp", "conv" or a layer mapping x to the posterior's parameters.
        decoder: "mlp", "linear", "conv" or a layer mapping z to data shape.
        encoder_units: hidden layer sizes of the "mlp" encoder.
        decoder_units: hidden layer sizes of the "mlp" decoder.
        activation: the named networks' hidden activation (paper: "softplus").
        unit_norm_decoder: keep each column of the "linear" decoder (the atom
            a latent adds) at unit norm, as sparse coding does, so unused
            atoms cannot shrink away; pair it with ``learn_prior_scale``.
        decoder_activation: the named decoder's output activation (None; the
            paper uses "sigmoid" with its squared-error loss).
        scale_activation: "softplus" (plus a floor) or "exp" (the paper's):
            how the encoder's second output becomes the posterior's scale.
        data_shape: shape of one example; inferred from the first batch if None.
        n_samples: latent samples per input in each training step.
        beta: weight of the KL term.
        kl: "auto" (closed form if registered, else sampled), "analytic", "sampled".
        objective: "elbo", or "iwae" (the importance-weighted bound over the
            ``n_samples`` draws; needs a posterior with a density).
        threshold: None, a number >= 0 or "learned" (per latent): Normal and
            Laplace posteriors draw exact zeros where the noise is within it
            (``keras_svae.thresholds``).
        threshold_prior: (concentration, rate) of learned thresholds' Gamma prior.
        train_size: the number of training examples, over which the learned
            thresholds' prior term is spread (None: the term counts once per
            step, as for one batch).
        noise: "fresh" (new noise every step), "epoch" (one noise matrix per
            epoch), "quasi" (randomised Sobol points) or "fixed" (one matrix
            for the run, a bug of the paper's notebooks; ``keras_svae.quirks``).
        noise_batch_size: the training batch size, the noise matrix's rows.
        noise_alpha: draw the "fixed" or "epoch" noise from the symmetric alpha-
            stable law (1: Cauchy, 2: Normal of variance 2), as the notebook did.
        kl_quirk: None, or "variance_as_scale": the Normal notebooks' KL bug.
        seed: seeds the initialisers and the sampling: same seed, same run.
        metadata: a JSON-serialisable dict saved with the model, for what the
            data pipeline did (e.g. ``{"whitening": whitening.get_config()}``) so
            figures and exported decoders can undo it.
        **kwargs: ``keras.Model`` keyword arguments (``name``, ``dtype``).

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
        >>> model = SparseVAE(4, "laplace", encoder_units=(16,), decoder_units=(16,))
        >>> model.compile(optimizer="adam")
        >>> sorted(model.fit(x, epochs=1, batch_size=32, verbose=0).history)
        ['kl', 'loss', 'reconstruction']
        >>> model.encode(x[:2]).mode().shape
        TensorShape([2, 4])
    """

    def __init__(
        self,
        latent_dim,
        prior="laplace",
        prior_scale=1.0,
        learn_prior_scale=None,
        prior_df=None,
        slab_probability=None,
        posterior=None,
        likelihood="gaussian",
        likelihood_scale=1.0,
        learn_likelihood_scale=False,
        encoder="mlp",
        decoder="mlp",
        encoder_units=(256, 128),
        decoder_units=(128, 256),
        unit_norm_decoder=False,
        activation="relu",
        decoder_activation=None,
        scale_activation="softplus",
        data_shape=None,
        n_samples=1,
        beta=1.0,
        kl="auto",
        objective="elbo",
        threshold=None,
        threshold_prior=THRESHOLD_PRIOR,
        train_size=None,
        noise="fresh",
        noise_batch_size=None,
        noise_alpha=None,
        kl_quirk=None,
        seed=None,
        metadata=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.n_samples = check_positive_int(n_samples, "n_samples")
        self.beta = check_number(beta, "beta", minimum=0.0)
        # The KL weight the loss uses now: beta, or less during a KL warm-up
        # (keras_svae.callbacks.KLWarmUp assigns it; a Python float would be
        # frozen into the compiled step).
        self.kl_weight = keras.Variable(self.beta, trainable=False, name="kl_weight")
        self.kl_mode = lookup(kl, KL_MODES, "kl mode")
        self.prior_scale = check_scale(prior_scale, "prior_scale")
        self.prior_df, self.slab_probability = prior_df, slab_probability
        self.fixed_prior = make_prior(
            prior, self.latent_dim, self.prior_scale, df=prior_df, slab_probability=slab_probability
        )
        self.prior_spec = prior.lower() if isinstance(prior, str) else prior
        self.learn_prior_scale = check_learn_prior_scale(learn_prior_scale, prior)
        if posterior is None:
            posterior = paper_posterior(prior)
        self.posterior_family = lookup(posterior, POSTERIORS, "posterior")
        self.likelihood_scale = check_scale(likelihood_scale, "likelihood_scale")
        self.learn_likelihood_scale = bool(learn_likelihood_scale)
        self.likelihood = make_likelihood(
            likelihood, self.likelihood_scale, self.learn_likelihood_scale
        )
        self.likelihood_spec = likelihood
        self.encoder_spec = validation.check_network(encoder, ENCODERS, "encoder")
        self.decoder_spec = validation.check_network(decoder, DECODERS, "decoder")
        self.encoder_units = tuple(int(u) for u in encoder_units)
        self.decoder_units = tuple(int(u) for u in decoder_units)
        self.unit_norm_decoder = validation.check_unit_norm(unit_norm_decoder, self.decoder_spec)
        self.activation = validation.check_activation(activation, "activation")
        self.decoder_activation = validation.check_activation(
            decoder_activation, "decoder_activation"
        )
        self.scale_activation = lookup(scale_activation, SCALE_ACTIVATIONS, "scale_activation")
        self.seed = validation.check_seed(seed)
        self.metadata = validation.check_metadata(metadata)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="sampling")
        # Tracked as the model's own state, so saved weights and checkpoints
        # (BackupAndRestore) carry it: a restored run draws the same latents next.
        self.sampling_state = self.seed_generator.state
        self.data_shape = None
        self.encoder = self.decoder = None
        self.objective = lookup(objective, OBJECTIVES, "objective")
        self.threshold, self.threshold_prior = validation.check_threshold(
            threshold, threshold_prior, self.posterior_family, self.objective
        )
        self.train_size = check_train_size(train_size)
        self.add_learned_prior_weights()
        self.add_notebook_quirks(noise, noise_batch_size, noise_alpha, kl_quirk)
        self.kl_is_analytic = uses_closed_form(
            self.posterior_family, self.prior, self.latent_dim, self.kl_mode
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        if data_shape is not None:
            self.build((None, *data_shape))

    # ----------------------------------------------------------------- building
    def build(self, input_shape):
        data_shape = tuple(int(d) for d in input_shape[1:])
        if self.data_shape is not None:
            validation.check_example_shape(data_shape, self.data_shape)
            return
        if not data_shape or any(d < 1 for d in data_shape):
            raise ValueError(f"Each example needs a known shape, got {data_shape}.")
        self.data_shape = data_shape
        self.encoder, self.decoder = make_networks(
            self.encoder_spec,
            self.decoder_spec,
            data_shape,
            self.latent_dim,
            self.encoder_units,
            self.decoder_units,
            self.seed,
            self.activation,
            self.decoder_activation,
            posterior_width(self.posterior_family),
            self.unit_norm_decoder,
        )
        self.likelihood.build((None, *data_shape))
        self.built = True

    def _check_built(self, what):
        if self.encoder is None:
            raise ValueError(
                f"This SparseVAE is not built yet, so it cannot {what}: its networks are "
                "made for the data's shape. Pass data_shape= to SparseVAE, call "
                "model.build((None, *data_shape)), or fit it first."
            )

    def get_build_config(self):
        return {"input_shape": (None, *self.data_shape)} if self.data_shape else None

    # ---------------------------------------------------------------- inference
    def posterior(self, x, training=False):
        """q(z given x) for a batch of inputs x (a tensor)."""
        validation.check_example_shape(x.shape[1:], self.data_shape)
        self._check_built("encode data")
        # Distributions, KL and log-probabilities stay in float32 under mixed precision.
        params = tf.cast(self.encoder(x, training=training), "float32")
        q = posterior_from_params(self.posterior_family, params, self.scale_activation)
        if self.threshold is None:
            return q
        gradient = "shifted" if self.threshold == "learned" else "straight_through"
        return Thresholded(q, self.thresholds(), gradient=gradient)

    def call(self, x, training=False):
        """The reconstruction from the posterior's mode (deterministic)."""
        z = self.posterior(x, training=training).mode()
        return self.likelihood(self.decoder(self._decoder_input(z), training=training))

    def encode(self, x):
        """Return the posterior distribution q(z given x) for data x."""
        return self.posterior(self._as_input(x))

    def decode(self, z):
        """Return the likelihood's mean (the expected data) for latents z."""
        self._check_built("decode")
        z = validation.check_latents(z, self.latent_dim)
        return self.likelihood.mean(tf.cast(self.decoder(self._decoder_input(z)), "float32"))

    def _decoder_input(self, z):
        """Latents as the decoder's input in the compute dtype (clipped where
        float16 would overflow)."""
        return distribute.to_compute_dtype(tf.cast(z, "float32"), self.compute_dtype)

    def reconstruct(self, x):
        """Decode the posterior's mode for data x (Cauchy has no mean, so mode)."""
        return self.decode(self.encode(x).mode())

    def sample(self, n, seed=None):
        """Decode ``n`` draws from the prior (soft-thresholded for a model with
        threshold=, the model it trained); ``seed`` (int) makes them repeatable."""
        n = check_positive_int(n, "n")
        seed = validation.check_seed(seed)
        self._check_built("sample")
        if seed is None:
            seed = tf.cast(self.seed_generator.next(), tf.int32)
        else:
            seed = tf.constant([int(seed), 0], dtype=tf.int32)
        s = self.prior.sample(n, seed=seed)  # a thresholded model decodes soft_threshold(s)
        return self.decode(s if self.threshold is None else soft_threshold(s, self.thresholds()))

    # ----------------------------------------------------------------- training
    def elbo_terms(self, x, training=False, layout=None):
        """Per-example reconstruction (-E_q log p(x given z)) and KL tensors."""
        _, reconstruction, kl = self.loss_terms(x, training=training, layout=layout)
        return reconstruction, kl

    def loss_terms(self, x, training=False, layout=None):
        """Per-example (loss, reconstruction, KL) on ``n_samples`` draws;
        ``layout`` (``distribute.batch_layout``) places x in a global batch.

        The loss is reconstruction + kl_weight * KL ("elbo"), or minus the
        importance-weighted bound ("iwae"): -log mean_k exp(log p(x given z_k)
        - kl_weight * (log q(z_k) - log p(z_k))), which is the ELBO with the
        sampled KL for one draw. A thresholded posterior's KL is its base's.
        """
        q = self.posterior(x, training=training)
        base_q = q.distribution if self.threshold is not None else q
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        base = self.training_latents(base_q, seed, layout, training)
        z = q.threshold_samples(base) if self.threshold is not None else base
        outputs = self.decoder(
            self._decoder_input(tf.reshape(z, [-1, self.latent_dim])), training=training
        )
        outputs = tf.reshape(tf.cast(outputs, "float32"), [self.n_samples, -1, *self.data_shape])
        log_lik = self.likelihood.log_prob(x, outputs, len(self.data_shape))  # [samples, batch]
        reconstruction = -tf.reduce_mean(log_lik, axis=0)
        kl = self.kl_term(base_q, base)
        weight = tf.cast(self.kl_weight, kl.dtype)
        if self.objective == "elbo":
            return reconstruction + weight * self.kl_penalty(base_q, kl), reconstruction, kl
        log_w = log_lik - weight * (q.log_prob(z) - self.prior.log_prob(z))
        bound = tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(float(self.n_samples))
        return -bound, reconstruction, kl

    def _step(self, data, training):
        """The batch's loss to minimise, and the metrics updated with the
        per-example terms (weighted), so an epoch's numbers are per-example
        means over all its examples, not means of batch means. Under a
        distribution strategy the loss is this replica's share of the global
        batch's loss (``keras_svae.distribute``)."""
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = tf.cast(x, "float32")
        if sample_weight is None:
            weights = tf.ones([tf.shape(x)[0]])
        else:
            weights = tf.reshape(tf.cast(sample_weight, "float32"), [-1])
        layout = distribute.batch_layout(weights)
        per_example, reconstruction, kl = self.loss_terms(x, training=training, layout=layout)
        regularisation = list(self.losses) + self.learned_prior_losses()
        loss = distribute.replica_loss(per_example, weights, layout, regularisation)
        self.loss_tracker.update_state(per_example, sample_weight=weights)
        self.reconstruction_tracker.update_state(reconstruction, sample_weight=weights)
        self.kl_tracker.update_state(kl, sample_weight=weights)
        return loss

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self.optimizer.scale_loss(self._step(data, training=True))
        gradients = tape.gradient(loss, self.trainable_weights)
        gradients = distribute.aggregate_gradients(self.optimizer, gradients)
        self.optimizer.apply(gradients, self.trainable_weights)
        return distribute.metric_results(self.metrics)

    def test_step(self, data):
        self._step(data, training=False)
        return distribute.metric_results(self.metrics)

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def compile(self, optimizer=None, fuse_steps=True, **kwargs):
        """Compile; the loss is the model's own, so only the optimizer matters.

        The default is Adam(1e-3) with the gradient's global norm clipped at 10:
        Cauchy posteriors draw rare, enormous z, and one such step would
        otherwise flood Adam's moment estimates (or overflow to NaN).

        With ``jit_compile=True`` and ``steps_per_execution > 1`` the steps of
        an execution run as one XLA computation (``keras_svae.fused``; 1.12x to
        1.30x Keras' per-step XLA loop in the MNIST benchmark, BENCHMARKS.md);
        ``fuse_steps=False`` keeps Keras' loop.

        ``loss``, ``metrics`` and their weights are refused: the loss is the
        negative ELBO, and the model reports ``loss``, ``reconstruction`` and
        ``kl``; other numbers come from ``keras_svae.evaluation``.
        """
        validation.check_compile_arguments(kwargs)
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0)
        self.fuse_steps = bool(fuse_steps)
        super().compile(optimizer=optimizer, **kwargs)

    # ---------------------------------------------------------------- config
    # The constructor's arguments kept under their own names.
    PLAIN_CONFIG = (  # noqa: SIM905 (one name list, read as text)
        "latent_dim prior_scale learn_prior_scale prior_df slab_probability likelihood_scale "
        "learn_likelihood_scale unit_norm_decoder activation decoder_activation scale_activation "
        "n_samples beta objective threshold train_size seed"
    ).split() + ["noise", "noise_batch_size", "noise_alpha", "kl_quirk"]

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in self.PLAIN_CONFIG})
        config.update(
            prior=serialize_option(self.prior_spec),
            posterior=self.posterior_family,
            likelihood=serialize_option(self.likelihood_spec),
            encoder=serialize_option(self.encoder_spec),
            decoder=serialize_option(self.decoder_spec),
            encoder_units=list(self.encoder_units),
            decoder_units=list(self.decoder_units),
            data_shape=list(self.data_shape) if self.data_shape else None,
            kl=self.kl_mode,
            threshold_prior=list(self.threshold_prior),
            metadata=dict(self.metadata),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("prior", "likelihood", "encoder", "decoder"):
            config[key] = deserialize_option(config[key])
        return cls(**config)
