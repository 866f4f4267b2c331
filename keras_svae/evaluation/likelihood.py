"""How well a model explains data: the ELBO and the importance-weighted bound.

Both are estimates of (bounds on) log p(x) in nats per example, computed with
the model's own prior, posterior and likelihood and without ``beta``: a
beta-VAE's training loss is not a bound, these are.

The log p(x) they bound is that of the model that was trained. A thresholded
posterior (``threshold=``) trains the model s ~ p(s), x ~ p(x given
decoder(soft_threshold(s))): its loss decodes the thresholded base draw and
takes the base posterior's KL to the prior on s. So both bounds draw s from the
base posterior and decode soft_threshold(s) (``variational``, ``decoded``), and
``SparseVAE.sample`` decodes soft-thresholded prior draws. Where the prior has
exact zeros (spike-and-slab) and the posterior does not, the IWAE's proposal
adds them (``SpikeProposal``), or it would converge to the all-slab part of
p(x) only.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_svae.distributions import inner_distribution
from keras_svae.evaluation.checks import model_inputs, positive_int
from keras_svae.kl import kl_divergence
from keras_svae.spike_slab import SpikeSlab
from keras_svae.thresholds import Thresholded, soft_threshold

# The decoder runs on at most this many latent samples at once (samples per
# chunk x inputs per call): 8,192 rows of MNIST logits are 25 MB, and larger
# chunks were no faster on 2 CPU cores (about 7 us per sample for the MNIST MLP).
MAX_DECODER_ROWS = 8192


def _seed_base(seed):
    """An int for the stateless seeds: ``seed`` itself, or fresh entropy for None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**31 - 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}.")
    return int(seed) % (2**31 - 1)


def _batch_seed(base, start):
    """The stateless seed of the batch starting at example ``start``: batches
    draw independent samples, and the same ``seed`` gives the same numbers."""
    return tf.constant([base, start % (2**31 - 1)], dtype=tf.int32)


def _input_spec(model):
    return tf.TensorSpec([None, *model.data_shape], tf.float32)


def variational(model, x):
    """The posterior over the latent the prior generates, s: q(z given x), or
    for a thresholded posterior its base, whose draws s training decodes as
    soft_threshold(s) and whose KL to the prior on s the loss holds."""
    q = model.posterior(x)
    return q.distribution if isinstance(q, Thresholded) else q


def decoded(model, s):
    """The code the decoder reads for latents s (any leading axes): the soft
    threshold sign(s) max(|s| - threshold, 0) of a thresholded model, as in
    training, else s itself."""
    return s if model.threshold is None else soft_threshold(s, model.thresholds())


class SpikeProposal:
    """q(s given x) with a point mass at 0 added, for a spike-and-slab prior.

    A continuous posterior never draws the prior's exact zeros, so importance
    weights from it see only the all-slab part of p(x) and the IWAE converges
    to less than log p(x). This proposal is the defensive mixture

        r(s) = (1 - MIX) q(s) + MIX prod_j [rho_j delta_0(s_j) + (1 - rho_j) q_j(s_j)],

    rho_j the prior's spike probability 1 - gamma_j: half the draws are the
    posterior's, the other half zero each latent as often as the prior does.
    Its density is taken, like the prior's, with respect to Lebesgue measure
    plus a unit point mass at 0 per latent, so w = p(x, s) / r(s) has E_r w =
    p(x) and the IWAE converges to log p(x). A draw without zeros weighs at
    least as much as under q alone, since r(s) <= q(s) there.

    Args:
        q: the posterior, Independent(Normal or Laplace) over [latent_dim].
        log_spike, log_slab: log(1 - gamma) and log(gamma) of the prior,
            broadcastable to [latent_dim].
    """

    MIX = 0.5

    def __init__(self, q, log_spike, log_slab):
        self.q, self.log_spike, self.log_slab = q, log_spike, log_slab
        self.factors = inner_distribution(q)

    def sample(self, n, seed):
        """n draws [n, batch, latent_dim] for a stateless ``seed`` ([2] int32)."""
        seeds = tf.random.experimental.stateless_split(seed, 3)
        draw_seed, mix_seed, spike_seed = tf.unstack(seeds, num=3)
        s = self.q.sample(n, seed=draw_seed)
        shape = tf.shape(s)
        mixed = tf.random.stateless_uniform(shape[:-1], mix_seed)[..., None] < self.MIX
        spike = tf.math.log(tf.random.stateless_uniform(shape, spike_seed)) < self.log_spike
        return tf.where(mixed & spike, tf.zeros_like(s), s)

    def log_prob(self, s):
        """log r(s) against Lebesgue measure plus a point mass at 0 per latent."""
        zero = tf.equal(s, 0.0)
        log_q = self.factors.log_prob(s)  # per latent
        dense = tf.where(tf.reduce_any(zero, -1), -np.inf, tf.reduce_sum(log_q, -1))
        spiky = tf.reduce_sum(tf.where(zero, self.log_spike, self.log_slab + log_q), -1)
        return tf.reduce_logsumexp(
            tf.stack([np.log(1 - self.MIX) + dense, np.log(self.MIX) + spiky]), axis=0
        )


def proposal(model, x):
    """The distribution the IWAE draws the latents s from: ``variational``,
    with a point mass at 0 added (``SpikeProposal``) where the prior has one
    and the posterior does not (a Normal or Laplace posterior, thresholded or
    not, under a spike-and-slab prior)."""
    q = variational(model, x)
    prior = inner_distribution(model.prior)
    if not isinstance(prior, SpikeSlab) or isinstance(inner_distribution(q), SpikeSlab):
        return q
    log_slab, log_spike = prior.log_slab_probs()
    ones = tf.ones([model.latent_dim])
    return SpikeProposal(q, log_spike * ones, log_slab * ones)


def _log_weights(model, x, q, s):
    """log p(x given decoded(s)) + log p(s) - log q(s) for s [k, batch, latent]: [k, batch]."""
    data_shape = tuple(model.data_shape)
    samples = tf.shape(s)[0]
    z = decoded(model, tf.reshape(s, [-1, model.latent_dim]))
    outputs = tf.reshape(tf.cast(model.decoder(z), tf.float32), [samples, -1, *data_shape])
    log_likelihood = model.likelihood.log_prob(x, outputs, len(data_shape))
    return log_likelihood + model.prior.log_prob(s) - q.log_prob(s)


def elbo(model, x, weights=None, n_samples=1, batch_size=1000, seed=None):
    """The evidence lower bound per example, without ``beta``.

    Estimates ELBO(x) = E_q[log p(x given z)] - KL(q(z given x) || p(z)) in
    nats: the expectation from ``n_samples`` reparameterised draws of z per
    example, the KL in closed form where TFP registers one for the pair and
    otherwise from the same draws (``keras_svae.kl.kl_divergence``, mode
    "auto"). It is the training loss negated with ``beta = 1``, whatever the
    model was trained with, so models with different ``beta`` compare.

    The ELBO is a lower bound on log p(x); the gap is KL(q || posterior), so it
    ranks priors by how well their posterior family fits as much as by how
    well they explain the data. ``iwae`` is the tighter, better-behaved number.
    Under a spike-and-slab prior a Normal or Laplace posterior's ELBO is a
    true but loose bound: q has no zeros, so its KL is to the slab (plus
    -log gamma_j per latent) and it bounds the all-slab part of p(x) only;
    the IWAE's proposal adds the zeros (``proposal``).

    A Cauchy posterior is refused: E_q |z| is infinite, so the ELBO is minus
    infinity under the Bernoulli and Gaussian likelihoods (see ``iwae``) and
    each estimate would be finite but arbitrary (averages drift down like
    log n with the draws).

    Args:
        model: a built SparseVAE.
        x: numpy array of examples [n, *data_shape].
        weights: optional non-negative example weights [n]; when given, the
            weighted mean is returned instead of the per-example values.
        n_samples: draws of z per example for the expectation.
        batch_size: examples per network call.
        seed: integer for repeatable draws; None draws fresh ones.

    Returns:
        A float64 numpy array [n] of per-example ELBOs (nats) when ``weights``
        is None; otherwise a float, their weighted mean.

    Raises:
        ValueError: for a Cauchy posterior (use ``iwae``), bad weights,
            counts or data.
    """
    x = model_inputs(model, x)
    if model.posterior_family == "cauchy":
        raise ValueError(
            "The ELBO of a Cauchy posterior is minus infinity: E_q |z| is infinite, so E_q log "
            "p(x given z) diverges under the Bernoulli and Gaussian likelihoods, and every "
            "estimate is a finite but arbitrary number that drifts down as draws are added. "
            "Use evaluation.iwae(model, x, k) instead (a finite bound on log p(x) from k = 3)."
        )
    n_samples = positive_int(n_samples, "n_samples")
    batch_size = positive_int(batch_size, "batch_size")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(x),):
            raise ValueError(
                f"weights must hold one weight per example, shape ({len(x)},); got "
                f"shape {weights.shape}."
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero.")
    base = _seed_base(seed)
    event_ndims = len(model.data_shape)

    @tf.function(input_signature=[_input_spec(model), tf.TensorSpec([2], tf.int32)])
    def per_example(batch, batch_seed):
        batch = tf.cast(batch, tf.float32)  # log-probabilities in float32
        q = variational(model, batch)
        s = q.sample(n_samples, seed=batch_seed)
        z = decoded(model, tf.reshape(s, [-1, model.latent_dim]))
        outputs = tf.cast(model.decoder(z), tf.float32)
        outputs = tf.reshape(outputs, [n_samples, -1, *model.data_shape])
        log_likelihood = tf.reduce_mean(
            model.likelihood.log_prob(batch, outputs, event_ndims), axis=0
        )
        return log_likelihood - kl_divergence(q, model.prior, s, mode="auto")

    values = np.concatenate(
        [
            per_example(x[i : i + batch_size], _batch_seed(base, i)).numpy()
            for i in range(0, len(x), batch_size)
        ]
    ).astype(np.float64)
    if weights is None:
        return values
    return float(np.sum(weights * values) / np.sum(weights))


def iwae(model, x, k=5000, batch_size=32, seed=None, progress=True, chunk_size=None):
    """The importance-weighted bound on log p(x) per example (Burda et al., 2016).

    Estimates log p(x) by

        log (1/k) sum_i w_i,   w_i = p(x given z_i) p(z_i) / q(z_i given x),

    with z_1..z_k drawn independently from q(z given x), in nats. Its
    expectation is a lower bound on log p(x) that rises with k to log p(x)
    (the estimate converges almost surely, since E_q w = p(x) is finite), and
    for k = 1 it is the single-draw ELBO estimate.

    What it converges to, for each pairing (see the module docstring): for a
    thresholded posterior, log p(x) of the trained model, z drawn from the
    base posterior and decoded soft-thresholded; under a spike-and-slab prior,
    z is drawn from ``proposal`` (the posterior with the prior's point mass
    at 0 added, unless the posterior is spike-and-slab itself), densities
    taken against Lebesgue measure plus a point mass at 0 per latent, so that
    E w = p(x) and the estimate converges to log p(x), all configurations of
    zeros included. A continuous proposal would converge to the all-slab part
    only: 1.5 nats short on a 2-latent linear-Gaussian toy, more with more latents. In
    many latents the spike proposal rarely draws the zeros the posterior
    needs, and the bound is loose at any practical k, but it never falls more
    than log 2 below the posterior-only one with half the draws.

    Why this is the number that compares priors: the ELBO's gap to log p(x) is
    KL(q || true posterior), which depends on how well each prior's posterior
    family fits, not only on how well the model explains the data. The IWAE
    gap shrinks as k grows, so at large k the models are compared by log p(x)
    itself (the same data, the same k, the same units).

    A Cauchy posterior under a Gaussian likelihood with a non-constant decoder:
    E_q[z^2] is infinite, so E_q log p(x given z), hence the ELBO, is minus
    infinity, and a single-draw estimate is a draw of a variable with infinite
    mean and variance (averages of n draws drift further down as n grows). The
    weights behave better: p(x given z) <= (2 pi s^2)^(-d/2) for a Gaussian of
    scale s, and p(z) / q(z given x) is bounded when the prior's tails are no
    heavier than the Cauchy posterior's (Cauchy, Laplace and Normal priors), so
    every w_i lies in [0, W] and log (1/k) sum w_i <= log W. Large z only make
    w_i tiny, and the estimate is small only when all k weights are. What
    holds exactly, for a decoder growing at most linearly in z (linear, ReLU
    MLP): P(log w < -t) = O(t^(-1/2)), so P(estimate < -t) = O(t^(-k/2)); the
    estimate's expectation is finite for k >= 3 and its variance for k >= 5.
    For k = 1 and 2 the expectation is minus infinity when the decoder does
    grow linearly (a linear decoder with A != 0): the bound is then
    P(log w < -t) ~ c t^(-1/2), and k = 1 is the ELBO. So "finite for every
    k >= 1" would be wrong; finite from k = 3, and at the default k = 5,000
    the lower tail is O(t^(-2500)) and repeated estimates agree closely (the
    test suite measures the spread of ten of each against ten ELBOs).

    The k samples of each input are drawn in chunks and folded into a running
    log-sum-exp, so memory is set by the chunk (``chunk_size`` x
    ``batch_size`` decoder outputs, by default about ``MAX_DECODER_ROWS`` =
    8,192), not by k. The loop over chunks runs inside one ``tf.function``
    (without XLA, which was slower here on CPU).

    Args:
        model: a built SparseVAE.
        x: numpy array of examples [n, *data_shape].
        k: importance samples per example (>= 1).
        batch_size: examples per call.
        seed: integer for repeatable draws; None draws fresh ones.
        progress: show a Keras progress bar over the examples.
        chunk_size: samples per chunk; None fills about 8,192 decoder rows
            (samples per chunk x examples per call).

    Returns:
        A float64 numpy array [n]: the estimate of log p(x) per example.

    Examples:
        >>> import numpy as np
        >>> from keras_svae import SparseVAE
        >>> model = SparseVAE(4, data_shape=(8,), encoder_units=(16,), decoder_units=(16,))
        >>> x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
        >>> iwae(model, x, k=10, seed=0, progress=False).shape
        (3,)
    """
    x = model_inputs(model, x)
    k = positive_int(k, "k")
    batch_size = min(positive_int(batch_size, "batch_size"), len(x))
    if chunk_size is None:
        chunk_size = max(1, MAX_DECODER_ROWS // batch_size)
    chunk_size = min(positive_int(chunk_size, "chunk_size"), k)
    # Spread k over equal chunks: at most n_chunks - 1 samples are drawn and masked.
    n_chunks = -(-k // chunk_size)
    chunk_size = -(-k // n_chunks)
    base = _seed_base(seed)
    function = _iwae_function(model, chunk_size)
    bar = keras.utils.Progbar(len(x), unit_name="example") if progress else None
    values = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        values.append(function(batch, _batch_seed(base, start), tf.constant(k)).numpy())
        if bar is not None:
            bar.update(start + len(batch))
    return np.concatenate(values)


def _iwae_function(model, chunk_size):
    """A tf.function: (batch, seed, k) -> log (1/k) sum_i w_i per example [batch], float64."""

    @tf.function(
        input_signature=[
            _input_spec(model),
            tf.TensorSpec([2], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def log_mean_weight(batch, batch_seed, k):
        batch = tf.cast(batch, tf.float32)  # log-probabilities in float32
        q = proposal(model, batch)
        n_chunks = (k + chunk_size - 1) // chunk_size
        offsets = tf.range(chunk_size)

        def body(i, running_max, running_sum):
            z = q.sample(chunk_size, seed=tf.random.experimental.stateless_fold_in(batch_seed, i))
            log_w = tf.cast(_log_weights(model, batch, q, z), tf.float64)
            used = i * chunk_size + offsets < k  # the last chunk may overshoot k
            log_w = tf.where(used[:, None], log_w, tf.constant(-np.inf, tf.float64))
            new_max = tf.maximum(running_max, tf.reduce_max(log_w, axis=0))
            shift = tf.where(tf.math.is_finite(new_max), new_max, tf.zeros_like(new_max))
            running_sum = running_sum * tf.exp(running_max - shift) + tf.reduce_sum(
                tf.exp(log_w - shift), axis=0
            )
            return i + 1, new_max, running_sum

        size = tf.shape(batch)[:1]
        _, running_max, running_sum = tf.while_loop(
            lambda i, *_: i < n_chunks,
            body,
            (
                tf.constant(0),
                tf.fill(size, tf.constant(-np.inf, tf.float64)),
                tf.zeros(size, tf.float64),
            ),
        )
        return running_max + tf.math.log(running_sum) - tf.math.log(tf.cast(k, tf.float64))

    return log_mean_weight
