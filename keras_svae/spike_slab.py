"""The spike-and-slab distribution of variational sparse coding (Tonolini et al., 2020).

Each latent is exactly 0 with probability 1 - gamma (the spike) and drawn from
Normal(loc, scale) with probability gamma (the slab). As a prior it says "most
latents are off"; as a posterior the encoder gives every input its own gamma,
so an input can switch latents off exactly instead of only shrinking them.

Densities are taken with respect to Lebesgue measure plus a unit point mass at
0, so ``log_prob(0) = log(1 - gamma)`` and ``log_prob(z) = log(gamma) +
log Normal(z)`` elsewhere. With that one measure for both sides, the KL between
two spike-and-slab distributions is finite and has the closed form registered
below; against a continuous prior it is infinite (q puts mass on a point where
p has none), which is why such pairings raise instead of being sampled.
"""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

# How many latents of an encoder output one posterior latent takes: location,
# raw scale and slab logit.
SPIKE_SLAB_WIDTH = 3


def common_float_dtype(*values):
    """The dtype of the first floating tensor or array among ``values``, else
    float32 (Python numbers and lists follow the tensors they meet)."""
    for value in values:
        dtype = getattr(value, "dtype", None)
        if dtype is not None and tf.as_dtype(dtype).is_floating:
            return tf.as_dtype(dtype)
    return tf.float32


class SpikeSlab(tfd.Distribution):
    """Scalar spike-and-slab: 0 w.p. 1 - gamma, else Normal(loc, scale).

    Args:
        loc: the slab's location (broadcast with ``scale``).
        scale: the slab's scale (> 0).
        slab_logits: logit of gamma, the slab probability; give this or
            ``slab_probs``, not both.
        slab_probs: gamma itself, in (0, 1].
        temperature: temperature of the relaxed (concrete) Bernoulli whose
            gradient the samples carry; lower is closer to the hard switch and
            noisier.
        straight_through: True (default): samples are exactly 0 or the slab
            draw (a hard Bernoulli draw in the forward pass) and gradients
            flow through the concrete relaxation (straight-through
            Gumbel-sigmoid). False: samples are the relaxed switch times the
            slab draw, smooth but never exactly 0. The default keeps the
            samples from the distribution whose KL the loss uses.
        validate_args: check the parameters' values (TFP's convention).
        allow_nan_stats: return NaN for undefined statistics instead of
            raising (TFP's convention).
        name: the name of the distribution's ops.

    ``mean()`` is gamma * loc; ``mode()`` is loc where gamma > 1/2 and 0
    elsewhere (the more probable component's mode). Wrap it in
    ``tfd.Independent(..., reinterpreted_batch_ndims=1)`` for a latent vector.

    Examples:
        >>> q = SpikeSlab(loc=[1.0, -2.0], scale=0.5, slab_probs=[0.9, 0.1])
        >>> q.sample(3, seed=(1, 2)).shape
        TensorShape([3, 2])
    """

    def __init__(
        self,
        loc,
        scale,
        slab_logits=None,
        slab_probs=None,
        temperature=0.5,
        straight_through=True,
        validate_args=False,
        allow_nan_stats=True,
        name="SpikeSlab",
    ):
        parameters = dict(locals())
        if (slab_logits is None) == (slab_probs is None):
            raise ValueError("SpikeSlab needs exactly one of slab_logits and slab_probs.")
        with tf.name_scope(name) as name:
            dtype = common_float_dtype(loc, scale, slab_logits, slab_probs)
            self._loc = tf.convert_to_tensor(loc, dtype=dtype, name="loc")
            self._scale = tf.convert_to_tensor(scale, dtype=dtype, name="scale")
            self._slab_logits = (
                None
                if slab_logits is None
                else tf.convert_to_tensor(slab_logits, dtype=dtype, name="slab_logits")
            )
            self._slab_probs = (
                None
                if slab_probs is None
                else tf.convert_to_tensor(slab_probs, dtype=dtype, name="slab_probs")
            )
            self._temperature = tf.convert_to_tensor(temperature, dtype=dtype)
            self._straight_through = bool(straight_through)
            super().__init__(
                dtype=dtype,
                reparameterization_type=tfd.FULLY_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        properties = tfp.util.ParameterProperties
        positive = tfp.util.ParameterProperties(
            default_constraining_bijector_fn=lambda: tfp.bijectors.Softplus()
        )
        return dict(
            loc=properties(),
            scale=positive,
            slab_logits=properties(),
            slab_probs=properties(
                default_constraining_bijector_fn=lambda: tfp.bijectors.Sigmoid(),
                is_preferred=False,
            ),
            temperature=properties(shape_fn=lambda sample_shape: [], is_preferred=False),
        )

    @property
    def loc(self):
        return self._loc

    @property
    def scale(self):
        return self._scale

    @property
    def temperature(self):
        return self._temperature

    @property
    def straight_through(self):
        return self._straight_through

    def slab_logits_parameter(self):
        """logit(gamma), computed from the probabilities if those were given."""
        if self._slab_logits is not None:
            return self._slab_logits
        return tf.math.log(self._slab_probs) - tf.math.log1p(-self._slab_probs)

    def log_slab_probs(self):
        """(log gamma, log(1 - gamma)), stable for logits of any size."""
        if self._slab_logits is not None:
            logits = self._slab_logits
            return -tf.math.softplus(-logits), -tf.math.softplus(logits)
        return tf.math.log(self._slab_probs), tf.math.log1p(-self._slab_probs)

    def slab_probs_parameter(self):
        """gamma, the probability that a latent is drawn from the slab."""
        if self._slab_probs is not None:
            return self._slab_probs
        return tf.math.sigmoid(self._slab_logits)

    def _event_shape(self):
        return tf.TensorShape([])

    def _event_shape_tensor(self):
        return tf.constant([], dtype=tf.int32)

    def _sample_n(self, n, seed=None):
        switch_seed, slab_seed = tfp.random.split_seed(seed, n=2, salt="spike_slab")
        shape = tf.concat([[n], self.batch_shape_tensor()], axis=0)
        eps = tf.random.stateless_normal(shape, seed=slab_seed, dtype=self.dtype)
        slab = self._loc + self._scale * eps
        tiny = tf.constant(1e-7 if self.dtype == tf.float32 else 1e-15, self.dtype)
        u = tf.random.stateless_uniform(
            shape, seed=switch_seed, minval=tiny, maxval=1.0 - tiny, dtype=self.dtype
        )
        # Logistic noise: logits + noise > 0 with probability exactly gamma.
        noisy = self.slab_logits_parameter() + tf.math.log(u) - tf.math.log1p(-u)
        soft = tf.math.sigmoid(noisy / self._temperature)
        if not self._straight_through:
            return soft * slab
        hard = tf.cast(noisy > 0, self.dtype)
        switch = soft + tf.stop_gradient(hard - soft)
        return switch * slab

    def _log_prob(self, x):
        log_slab, log_spike = self.log_slab_probs()
        normal = tfd.Normal(self._loc, self._scale).log_prob(x)
        return tf.where(tf.equal(x, 0.0), log_spike + tf.zeros_like(normal), log_slab + normal)

    def _mean(self):
        return self.slab_probs_parameter() * self._loc + tf.zeros_like(self._scale)

    def _mode(self):
        on = self.slab_logits_parameter() > 0
        loc = self._loc + tf.zeros_like(self._scale)
        return tf.where(on, loc, tf.zeros_like(loc))

    def _default_event_space_bijector(self):
        return tfp.bijectors.Identity()


def bernoulli_kl(log_p, log_1mp, log_q, log_1mq):
    """KL(Bernoulli(p) || Bernoulli(q)) from the four log-probabilities.

    Written with exp(log p) weights rather than xlogy so that logits far in
    either tail (p within 1e-30 of 0 or 1) stay exact and finite.
    """
    return tf.exp(log_p) * (log_p - log_q) + tf.exp(log_1mp) * (log_1mp - log_1mq)


@tfd.RegisterKL(SpikeSlab, SpikeSlab)
def _kl_spike_slab(q, p, name=None):
    """KL(SpikeSlab_q || SpikeSlab_p) in closed form (Tonolini et al. 2020, eq. 9):

    KL(Bernoulli(gamma_q) || Bernoulli(gamma_p)) + gamma_q KL(N_q || N_p).

    Both spikes sit at 0, so the spike-to-spike term contributes only its
    Bernoulli weight; the slab-to-slab term is the Gaussian KL weighted by how
    often q is in its slab.
    """
    with tf.name_scope(name or "kl_spike_slab"):
        log_slab_q, log_spike_q = q.log_slab_probs()
        log_slab_p, log_spike_p = p.log_slab_probs()
        gaussian = tfd.kl_divergence(tfd.Normal(q.loc, q.scale), tfd.Normal(p.loc, p.scale))
        return (
            bernoulli_kl(log_slab_q, log_spike_q, log_slab_p, log_spike_p)
            + tf.exp(log_slab_q) * gaussian
        )
