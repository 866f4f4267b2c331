"""SparseVAE: a Keras model whose prior may be Normal, Laplace or Cauchy.

The loss is the negative ELBO per example,

    -E_q[log p(x given z)] + beta * KL(q(z given x) || p(z)),

averaged over the batch. The expectation uses ``n_samples`` reparameterised
draws z from one posterior object; the KL is TFP's closed form where one is
registered and otherwise is estimated from those same draws.
"""

import re

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import keras

from keras_svae.distributions import (
    POSTERIORS,
    check_choice,
    check_positive_int,
    check_scale,
    make_posterior,
    make_prior,
    positive_scale,
)
from keras_svae.fused import can_fuse, make_fused_function
from keras_svae.kl import KL_MODES, has_closed_form, kl_divergence
from keras_svae.likelihoods import make_likelihood
from keras_svae.networks import build_decoder, build_encoder

tfd = tfp.distributions

# Marks our data checks inside tf.data so fit() can turn them into ValueErrors.
_DATA_CHECK = "keras_svae data check"

# The posterior family that the paper pairs with each named prior.
_PAPER_POSTERIOR = {"normal": "normal", "laplace": "normal", "cauchy": "cauchy"}


def _first(data):
    """The inputs x of a batch that may be x, (x,), (x, y) or (x, y, weights)."""
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


def _serialize(value):
    """Config entry for a name (kept as is) or a Keras-serialisable object."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, tfd.Distribution):
        raise ValueError(
            "This model's prior is a distribution instance, which cannot be saved. "
            "Pass a factory function registered with "
            "@keras.saving.register_keras_serializable() instead, or use "
            "model.save_weights()."
        )
    return keras.saving.serialize_keras_object(value)


def _deserialize(value):
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    return value


@keras.saving.register_keras_serializable(package="keras_svae")
class SparseVAE(keras.Model):
    """A variational auto-encoder with a sparsity-promoting prior.

    Args:
        latent_dim: number of latent variables.
        prior: "normal", "laplace" or "cauchy", a ``tfd.Distribution`` with
            event shape [latent_dim], or a factory ``f(latent_dim, dtype)``.
        prior_scale: scale of a named prior.
        posterior: "normal" or "cauchy"; None takes the paper's pairing
            (Cauchy posterior for the Cauchy prior, Normal otherwise).
        likelihood: "gaussian", "bernoulli" or a ``Likelihood`` layer.
        likelihood_scale: noise standard deviation of the Gaussian likelihood.
        learn_likelihood_scale: train that scale instead of fixing it.
        encoder: "mlp", "conv" or a layer mapping x to [batch, 2 * latent_dim].
        decoder: "mlp", "linear", "conv" or a layer mapping z to data shape.
        encoder_units, decoder_units: hidden layer sizes of the MLPs.
        data_shape: shape of one example; inferred from the first batch if None.
        n_samples: latent samples per input in each training step.
        beta: weight of the KL term.
        kl: "auto" (closed form if registered, else sampled), "analytic" or
            "sampled".
        seed: seeds the weight initialisers and the sampling; the same seed gives
            the same run.
        metadata: a JSON-serialisable dict saved with the model, for what the
            data pipeline did (e.g. ``{"whitening": whitening.get_config()}``) so
            figures and exported decoders can undo it.

    Example:
        >>> model = SparseVAE(latent_dim=10, prior="laplace", decoder="linear")
        >>> model.compile(optimizer="adam")
        >>> model.fit(x_train, epochs=10, batch_size=100)
        >>> z = model.encode(x_test).mode()
    """

    def __init__(
        self,
        latent_dim,
        prior="laplace",
        prior_scale=1.0,
        posterior=None,
        likelihood="gaussian",
        likelihood_scale=1.0,
        learn_likelihood_scale=False,
        encoder="mlp",
        decoder="mlp",
        encoder_units=(256, 128),
        decoder_units=(128, 256),
        data_shape=None,
        n_samples=1,
        beta=1.0,
        kl="auto",
        seed=None,
        metadata=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.n_samples = check_positive_int(n_samples, "n_samples")
        if not np.isfinite(beta) or beta < 0:
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}.")
        self.beta = float(beta)
        self.kl_mode = check_choice(kl, KL_MODES, "kl mode")
        self.prior_spec = prior
        self.prior_scale = check_scale(prior_scale, "prior_scale")
        self.prior = make_prior(prior, self.latent_dim, self.prior_scale)
        if posterior is None:
            posterior = _PAPER_POSTERIOR.get(prior, "normal") if isinstance(
                prior, str
            ) else "normal"
        self.posterior_family = check_choice(posterior, POSTERIORS, "posterior")
        self.likelihood_scale = check_scale(likelihood_scale, "likelihood_scale")
        self.learn_likelihood_scale = bool(learn_likelihood_scale)
        self.likelihood = make_likelihood(
            likelihood, self.likelihood_scale, self.learn_likelihood_scale
        )
        self.likelihood_spec = likelihood
        self.encoder_spec = encoder
        self.decoder_spec = decoder
        self.encoder_units = tuple(int(u) for u in encoder_units)
        self.decoder_units = tuple(int(u) for u in decoder_units)
        self.seed = None if seed is None else int(seed)
        self.metadata = dict(metadata or {})
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="sampling")
        self.data_shape = None
        self.encoder = self.decoder = None
        self.kl_is_analytic = self._resolve_kl_mode()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        if data_shape is not None:
            self.build((None, *data_shape))

    def _resolve_kl_mode(self):
        """Decide once whether the KL is the closed form or the sampled estimate."""
        if self.kl_mode == "sampled":
            return False
        probe = make_posterior(
            self.posterior_family,
            tf.zeros([1, self.latent_dim]),
            tf.ones([1, self.latent_dim]),
        )
        registered = has_closed_form(probe, self.prior)
        if self.kl_mode == "analytic" and not registered:
            kl_divergence(probe, self.prior, mode="analytic")  # raises the ValueError
        return registered

    # ----------------------------------------------------------------- building
    def build(self, input_shape):
        data_shape = tuple(int(d) for d in input_shape[1:])
        if self.data_shape is not None:
            self._check_shape(data_shape)
            return
        if not data_shape or any(d < 1 for d in data_shape):
            raise ValueError(f"Each example needs a known shape, got {data_shape}.")
        self.data_shape = data_shape
        if isinstance(self.encoder_spec, str):
            self.encoder = build_encoder(
                self.encoder_spec, data_shape, self.latent_dim, self.encoder_units,
                self.seed,
            )
        else:
            self.encoder = self.encoder_spec
        if isinstance(self.decoder_spec, str):
            self.decoder = build_decoder(
                self.decoder_spec, data_shape, self.latent_dim, self.decoder_units,
                self.seed,
            )
        else:
            self.decoder = self.decoder_spec
        params = self.encoder.compute_output_shape((None, *data_shape))
        if tuple(params[1:]) != (2 * self.latent_dim,):
            raise ValueError(
                f"The encoder must output shape (batch, {2 * self.latent_dim}) "
                f"(location and scale of {self.latent_dim} latents); it outputs "
                f"{tuple(params)}."
            )
        self.encoder.build((None, *data_shape))
        self.decoder.build((None, self.latent_dim))
        outputs = self.decoder.compute_output_shape((None, self.latent_dim))
        if tuple(outputs[1:]) != data_shape:
            raise ValueError(
                f"The decoder must output the data shape {data_shape}; it outputs "
                f"{tuple(outputs[1:])}."
            )
        self.likelihood.build((None, *data_shape))
        self.built = True

    def _check_shape(self, shape):
        shape = tuple(shape)
        if self.data_shape is not None and shape != self.data_shape:
            raise ValueError(
                f"Input examples have shape {shape}, but this model was built for "
                f"examples of shape {self.data_shape}. Reshape the data, or build a "
                "new model for this shape."
            )

    def get_build_config(self):
        return {"input_shape": (None, *self.data_shape)} if self.data_shape else None

    # ---------------------------------------------------------------- inference
    def posterior(self, x, training=False):
        """q(z given x) for a batch of inputs x (a tensor)."""
        self._check_shape(x.shape[1:])
        params = self.encoder(x, training=training)
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return make_posterior(self.posterior_family, loc, positive_scale(raw_scale))

    def call(self, x, training=False):
        """The reconstruction from the posterior's mode (deterministic)."""
        x = tf.cast(x, self.compute_dtype)
        z = self.posterior(x, training=training).mode()
        return self.likelihood(self.decoder(z, training=training))

    def encode(self, x):
        """Return the posterior distribution q(z given x) for data x."""
        return self.posterior(self._as_input(x))

    def decode(self, z):
        """Return the likelihood's mean (the expected data) for latents z."""
        z = tf.convert_to_tensor(z, dtype=self.compute_dtype)
        if z.shape.rank != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"z must have shape (n, {self.latent_dim}), got {tuple(z.shape)}."
            )
        return self.likelihood.mean(self.decoder(z))

    def reconstruct(self, x):
        """Decode the posterior's mode for data x (Cauchy has no mean, so mode)."""
        return self.decode(self.encode(x).mode())

    def sample(self, n, seed=None):
        """Decode ``n`` draws from the prior; ``seed`` (int) makes them repeatable."""
        n = check_positive_int(n, "n")
        if seed is None:
            seed = tf.cast(self.seed_generator.next(), tf.int32)
        else:
            seed = tf.constant([int(seed), 0], dtype=tf.int32)
        return self.decode(self.prior.sample(n, seed=seed))

    # ----------------------------------------------------------------- training
    def elbo_terms(self, x, training=False):
        """Per-example reconstruction (-E_q log p(x given z)) and KL tensors."""
        q = self.posterior(x, training=training)
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        z = q.sample(self.n_samples, seed=seed)  # [n_samples, batch, latent]
        outputs = self.decoder(tf.reshape(z, [-1, self.latent_dim]), training=training)
        outputs = tf.reshape(outputs, [self.n_samples, -1, *self.data_shape])
        log_lik = self.likelihood.log_prob(x, outputs, len(self.data_shape))
        reconstruction = -tf.reduce_mean(log_lik, axis=0)
        mode = "analytic" if self.kl_is_analytic else "sampled"
        kl = kl_divergence(q, self.prior, z, mode=mode)
        return reconstruction, kl

    def _step_losses(self, data, training):
        x = tf.cast(_first(data), self.compute_dtype)
        reconstruction, kl = self.elbo_terms(x, training=training)
        reconstruction = tf.reduce_mean(reconstruction)
        kl = tf.reduce_mean(kl)
        loss = reconstruction + self.beta * kl
        if self.losses:
            loss = loss + tf.add_n(self.losses)
        return loss, reconstruction, kl

    def _update_metrics(self, loss, reconstruction, kl):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, reconstruction, kl = self._step_losses(data, training=True)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._update_metrics(loss, reconstruction, kl)

    def test_step(self, data):
        loss, reconstruction, kl = self._step_losses(data, training=False)
        return self._update_metrics(loss, reconstruction, kl)

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
        """
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0)
        self.fuse_steps = bool(fuse_steps)
        super().compile(optimizer=optimizer, **kwargs)

    def make_train_function(self, force=False):
        """Keras' train function, or the fused one (see ``keras_svae.fused``)
        when compiled with ``jit_compile=True`` and ``steps_per_execution > 1``."""
        if can_fuse(self) and (force or self.train_function is None):
            self.train_function = make_fused_function(self, self.train_step)
            return self.train_function
        return super().make_train_function(force)

    def make_test_function(self, force=False):
        """The evaluation counterpart of ``make_train_function``."""
        if can_fuse(self) and (force or self.test_function is None):
            self.test_function = make_fused_function(self, self.test_step)
            return self.test_function
        return super().make_test_function(force)

    def compile_from_config(self, config):
        """Recompile a loaded model with its saved optimizer (Keras skips models
        that override ``compile`` unless this is overridden too)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------- input validation
    def _check_array(self, x):
        """Refuse numpy data the model cannot use, before it becomes a NaN loss."""
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"Data must be numeric, got dtype {x.dtype}.")
        bad = x.size - int(np.count_nonzero(np.isfinite(x)))
        if bad:
            raise ValueError(
                f"The data contains {bad} NaN or Inf values. Remove or impute them "
                "before training (e.g. np.nan_to_num, or drop those examples)."
            )
        if x.ndim < 2:
            raise ValueError(
                f"Data must have a batch axis and at least one data axis, got shape "
                f"{x.shape}."
            )
        self._check_shape(x.shape[1:])
        self.likelihood.check_data(x)
        return x

    def _as_input(self, x):
        self._build_for(x)
        if isinstance(x, np.ndarray):
            x = self._check_array(x)
        return tf.cast(tf.convert_to_tensor(x), self.compute_dtype)

    def _checked_dataset(self, dataset):
        """Add in-pipeline checks for non-finite values and the likelihood's range."""
        spec = _first(dataset.element_spec)
        if spec.shape.rank is not None and spec.shape.rank >= 2:
            self._check_shape(spec.shape[1:])
        bernoulli = self.likelihood.name.startswith("bernoulli")

        def check(*element):
            x = element[0]
            checks = [
                tf.debugging.assert_all_finite(
                    tf.cast(x, tf.float32),
                    f"{_DATA_CHECK}: the data contains NaN or Inf values. Remove or "
                    "impute them before training.",
                )
            ]
            if bernoulli:
                checks.append(
                    tf.debugging.assert_less_equal(
                        tf.reduce_max(tf.abs(tf.cast(x, tf.float32) - 0.5)),
                        0.5,
                        message=f"{_DATA_CHECK}: likelihood='bernoulli' needs data "
                        "in [0, 1]. Scale it to [0, 1] or use likelihood='gaussian'.",
                    )
                )
            with tf.control_dependencies(checks):
                x = tf.identity(x)
            return x if len(element) == 1 else (x, *element[1:])

        return dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _validated(self, data):
        if data is None:
            return None
        if isinstance(data, tf.data.Dataset):
            return self._checked_dataset(data)
        if isinstance(data, (tuple, list)):
            return type(data)(self._validated(item) if i == 0 else item
                              for i, item in enumerate(data))
        if isinstance(data, (np.ndarray, tf.Tensor)):
            return self._check_array(data)
        return data

    def _run_checked(self, method, x, **kwargs):
        try:
            return method(x, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            found = re.search(_DATA_CHECK + r": (.*?\.)(?:\]| :)", str(error))
            if found:
                raise ValueError(found.group(1).replace("\\'", "'")) from None
            raise

    def _build_for(self, data):
        """Build from the shape of the first data seen (array or dataset)."""
        if self.built or data is None:
            return
        if isinstance(data, tf.data.Dataset):
            shape = _first(data.element_spec).shape
        else:
            shape = np.shape(_first(data) if isinstance(data, (tuple, list)) else data)
        if len(shape) >= 2 and None not in tuple(shape)[1:]:
            self.build(tuple(shape))

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """``keras.Model.fit`` after checking the data (see ``_check_array``)."""
        self._build_for(x)
        kwargs["validation_data"] = self._validated(validation_data)
        return self._run_checked(super().fit, self._validated(x), y=y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` after the same data checks as ``fit``."""
        self._build_for(x)
        return self._run_checked(super().evaluate, self._validated(x), y=y, **kwargs)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            prior=_serialize(self.prior_spec),
            prior_scale=self.prior_scale,
            posterior=self.posterior_family,
            likelihood=_serialize(self.likelihood_spec),
            likelihood_scale=self.likelihood_scale,
            learn_likelihood_scale=self.learn_likelihood_scale,
            encoder=_serialize(self.encoder_spec),
            decoder=_serialize(self.decoder_spec),
            encoder_units=list(self.encoder_units),
            decoder_units=list(self.decoder_units),
            data_shape=list(self.data_shape) if self.data_shape else None,
            n_samples=self.n_samples,
            beta=self.beta,
            kl=self.kl_mode,
            seed=self.seed,
            metadata=dict(self.metadata),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("prior", "likelihood", "encoder", "decoder"):
            config[key] = _deserialize(config[key])
        return cls(**config)
