"""How well a model explains data: the ELBO and the importance-weighted bound.

Both are estimates of (bounds on) log p(x) in nats per example, computed with
the model's own prior, posterior and likelihood and without ``beta``: a
beta-VAE's training loss is not a bound, these are.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_svae.evaluation.checks import model_inputs, positive_int
from keras_svae.kl import kl_divergence
from keras_svae.thresholds import Thresholded

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


def proposal(model, x):
    """The distribution the bounds draw z from: the posterior q(z given x),
    or for a thresholded posterior (exact zeros, a point mass at 0 and so no
    density) its base posterior. Any proposal with a density gives a bound on
    the same log p(x), so models with and without thresholds stay comparable."""
    q = model.posterior(x)
    return q.distribution if isinstance(q, Thresholded) else q


def _log_weights(model, x, q, z):
    """log p(x given z) + log p(z) - log q(z given x) for z [s, batch, latent]: [s, batch]."""
    data_shape = tuple(model.data_shape)
    samples = tf.shape(z)[0]
    outputs = tf.cast(model.decoder(tf.reshape(z, [-1, model.latent_dim])), tf.float32)
    outputs = tf.reshape(outputs, [samples, -1, *data_shape])
    log_likelihood = model.likelihood.log_prob(x, outputs, len(data_shape))
    return log_likelihood + model.prior.log_prob(z) - q.log_prob(z)


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
    For a Cauchy posterior under a Gaussian likelihood the ELBO itself is
    minus infinity (see ``iwae``): each estimate is then finite but arbitrary.

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
    """
    x = model_inputs(model, x)
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
        q = proposal(model, batch)
        z = q.sample(n_samples, seed=batch_seed)
        outputs = tf.cast(model.decoder(tf.reshape(z, [-1, model.latent_dim])), tf.float32)
        outputs = tf.reshape(outputs, [n_samples, -1, *model.data_shape])
        log_likelihood = tf.reduce_mean(
            model.likelihood.log_prob(batch, outputs, event_ndims), axis=0
        )
        return log_likelihood - kl_divergence(q, model.prior, z, mode="auto")

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
