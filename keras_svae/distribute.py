"""Global-batch semantics for SparseVAE's steps under ``tf.distribute``, and
the dtype rules of its mixed-precision path.

Under a strategy each replica sees a slice of the global batch, and Keras'
optimizer sums the replicas' gradients. A step is the same as one device's
step on the whole batch when

- each replica divides its local sum of weighted per-example losses by the
  GLOBAL sum of weights (so the summed gradients are the single-device
  gradient, also for uneven last batches and for sample weights), and its
  share of the regularisation losses by the number of replicas;
- gradient clipping sees the summed gradient: Keras' optimizer clips each
  replica's gradient before it sums them (``BaseOptimizer._backend_apply_gradients``
  clips, then the TensorFlow optimizer's ``_backend_update_step`` all-reduces),
  so a clipping optimizer gets the all-reduced, clipped gradient here, one
  replica's share of it each, which Keras' own clipping leaves alone and its
  sum puts back together;
- the latent draws for an example do not depend on how the batch was split:
  every replica draws the noise of the whole global batch from the step's
  seed and keeps the rows of its own examples (``draw_latents``).

Under one replica (no strategy, or a strategy over one device) every helper
here is the identity, so the single-device step is unchanged.
"""

import collections
import contextlib
import json
import os

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.names import STRATEGIES, lookup

tfd = tfp.distributions

# Where this replica's examples sit in the global batch, the global batch's size
# and sum of weights, and the number of replicas that share it.
BatchLayout = collections.namedtuple("BatchLayout", ["offset", "size", "weight_sum", "replicas"])


def _replica_context():
    """The replica context when a step runs on more than one replica, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


# Posterior families drawn as location + scale * standard noise, which
# ``draw_latents`` draws for the whole global batch.
LOCATION_SCALE = (tfd.Normal, tfd.Laplace, tfd.Cauchy)


def make_strategy(name):
    """The ``tf.distribute`` strategy a command line names: None for "none",
    ``MirroredStrategy`` over this machine's GPUs (or its CPU) for "mirrored",
    ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG`` for
    "multi-worker". Call it before any other TensorFlow work: a collective
    strategy must be the process's first, and only one per process."""
    name = lookup(name, STRATEGIES, "strategy")
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    cluster = os.environ.get("TF_CONFIG")
    try:
        config = json.loads(cluster or "")
        workers = config["cluster"]["worker"]
        index = int(config["task"]["index"])
        if config["task"]["type"] not in ("worker", "chief") or not workers:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            "--strategy multi-worker needs the cluster in the TF_CONFIG environment "
            'variable, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\' on the first '
            f"worker (index 1 on the second); got TF_CONFIG={cluster!r}."
        ) from None
    if not 0 <= index < len(workers):
        raise ValueError(
            f"TF_CONFIG's task index {index} is not one of its {len(workers)} workers."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """True unless ``strategy`` is a multi-worker one and this is not its
    first worker: only the chief writes a run's final files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def strategy_scope(model):
    """The scope of the strategy ``model`` was created under, for creating
    variables later (a lazily built model built by ``fit`` outside the scope:
    Keras' optimizer refuses variables created outside it). Inside any
    strategy's scope or replica context it enters nothing."""
    if tf.distribute.has_strategy():
        return contextlib.nullcontext()
    return model.distribute_strategy.scope()


def batch_layout(weights):
    """The ``BatchLayout`` of this replica's examples with per-example ``weights``.

    One all-reduce of a small vector (the replicas' batch sizes, one-hot by
    replica id, and the sum of weights) gives every replica where its examples
    start and how large the global batch is. Replica ``i`` holds the examples
    after those of replicas ``0 .. i-1``: the order in which
    ``experimental_distribute_dataset`` splits a global batch.
    """
    size = tf.shape(weights)[0]
    weight_sum = tf.reduce_sum(weights)
    context = _replica_context()
    if context is None:
        return BatchLayout(0, size, weight_sum, 1)
    n = context.num_replicas_in_sync
    replica = context.replica_id_in_sync_group
    sizes = tf.one_hot(replica, n, dtype=weights.dtype) * tf.cast(size, weights.dtype)
    summed = context.all_reduce("sum", tf.concat([sizes, weight_sum[None]], 0))
    sizes = tf.cast(tf.round(summed[:n]), tf.int32)
    offset = tf.reduce_sum(sizes[:replica])
    return BatchLayout(offset, tf.reduce_sum(sizes), summed[n], n)


def draw_latents(q, n_samples, seed, layout=None):
    """``n_samples`` reparameterised draws from the posterior ``q`` (a
    location-scale family in ``tfd.Independent``): [n_samples, batch, latent].

    The standard noise is drawn for the whole global batch from ``seed`` and
    this replica keeps its rows, so an example's draws are the same whichever
    replica holds it (and equal TFP's own ``q.sample(n_samples, seed)`` on one
    device: the same noise, times the scale, plus the location). Other
    families (spike-and-slab) are drawn by ``q.sample`` on each replica: the
    same distribution, but draws that depend on how the batch was split.
    """
    family = getattr(q, "distribution", None)
    if type(family) not in LOCATION_SCALE:  # e.g. spike-and-slab: each replica draws its own
        if layout is not None and layout.replicas > 1:  # from its own seed, not a copy
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            seed = tf.random.experimental.stateless_fold_in(seed, replica)
        return q.sample(n_samples, seed=seed)
    loc, scale = family.loc, family.scale
    size = tf.shape(loc)[0]
    split = layout is not None and layout.replicas > 1
    shape = tf.stack([layout.size if split else size, tf.shape(loc)[1]])
    standard = type(family)(loc=tf.zeros(shape, loc.dtype), scale=tf.ones(shape, loc.dtype))
    noise = tfd.Independent(standard, reinterpreted_batch_ndims=1).sample(n_samples, seed=seed)
    if split:
        noise = noise[:, layout.offset : layout.offset + size]
    return loc + scale * noise


def replica_loss(per_example, weights, layout, regularisation):
    """This replica's share of the global batch's loss: its weighted sum over
    the global sum of weights, plus its share of the regularisation losses."""
    loss = tf.math.divide_no_nan(tf.reduce_sum(weights * per_example), layout.weight_sum)
    if regularisation:
        total = tf.add_n([tf.cast(r, loss.dtype) for r in regularisation])
        loss = loss + total / layout.replicas
    return loss


def aggregate_gradients(optimizer, gradients):
    """Gradients to hand to ``optimizer.apply`` so that a clipping or
    loss-scaling optimizer acts on the global gradient.

    Without clipping or loss scaling Keras' sum of the replicas' gradients is
    already the global gradient, and they pass unchanged. Otherwise they are
    all-reduced here, clipped by the optimizer's own rule (after removing the
    loss scale, as ``apply`` does), and each replica hands over 1 / n of the
    result: Keras' clipping of a share (its norm is at most clip / n) changes
    nothing, the loss-scale optimizer's finite check sees the same gradients
    on every replica, and Keras' sum restores the clipped global gradient.
    With gradient accumulation the clipping is left to Keras (per replica).
    """
    context = _replica_context()
    if context is None:
        return gradients
    loss_scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer if loss_scaled else optimizer
    clips = any((inner.clipnorm, inner.global_clipnorm, inner.clipvalue))
    if not clips and not loss_scaled:
        return gradients
    scales = [optimizer.dynamic_scale] if loss_scaled else []
    scales += [] if inner.loss_scale_factor is None else [inner.loss_scale_factor]
    present = [g for g in gradients if g is not None]
    total = context.all_reduce("sum", present)
    if clips and not inner.gradient_accumulation_steps:
        for scale in scales:
            total = [g / tf.cast(scale, g.dtype) for g in total]
        total = inner._clip_gradients(total)  # Keras' own rule, as on one device
        for scale in scales:
            total = [g * tf.cast(scale, g.dtype) for g in total]
    shares = iter(g / context.num_replicas_in_sync for g in total)
    return [None if g is None else next(shares) for g in gradients]


def metric_results(metrics):
    """``{name: result}`` of ``keras.metrics.Mean`` trackers over all replicas.

    A Mean's variables are summed across replicas only when read outside the
    step; inside it each replica reads its own, and Keras averages the
    replicas' results, which is not the per-example mean when the replicas'
    weights differ (an uneven last batch, sample weights). One all-reduce of
    the totals and counts gives every step the single-device numbers.

    Under ``MultiWorkerMirroredStrategy`` Keras 3 reduces each log over its
    axis 0, which a scalar lacks (tensorflow/tensorflow#72388), so there the
    results have shape [1]; Keras' reduction makes them scalars again.
    """
    context = _replica_context()
    if context is None:
        return {m.name: m.result() for m in metrics}
    pairs = [
        tf.stack([tf.convert_to_tensor(m.total), tf.convert_to_tensor(m.count)]) for m in metrics
    ]
    pairs = context.all_reduce("sum", pairs)
    results = {m.name: tf.math.divide_no_nan(p[0], p[1]) for m, p in zip(metrics, pairs)}
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        results = {name: value[None] for name, value in results.items()}
    return results


def to_compute_dtype(z, dtype):
    """Latents ``z`` (float32) as the decoder's input in compute ``dtype``.

    float16 overflows above 65504; a Cauchy posterior's rare enormous draws
    would make the decoder's outputs, and the loss, infinite. Draws are clipped
    to +-sqrt(max) of the compute dtype (256 for float16), far in the tail
    where the reconstruction term is already huge; for bfloat16 and float32
    the bound is never reached.
    """
    dtype = tf.as_dtype(dtype)
    if dtype == z.dtype:
        return z
    bound = float(dtype.max) ** 0.5
    return tf.cast(tf.clip_by_value(z, -bound, bound), dtype)
