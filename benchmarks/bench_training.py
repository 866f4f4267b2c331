"""Training throughput of SparseVAE against a hand-written Keras 3 VAE.

One run, one data set (MNIST train images scaled to [0, 1]), one architecture
(MLP encoder 784-512-256-2z, decoder z-256-512-784, Bernoulli likelihood, batch
128, z = 10) and one compile setting shared by every model. It prints:

1. examples/s of SparseVAE with each prior (normal; laplace with the closed-
   form KL; laplace with the sampled KL; cauchy) and of ``BaselineVAE``, a
   minimal VAE written with ``keras.ops`` (Normal prior, KL written out, no
   TFP): median over ``--epochs`` full epochs after a warm-up epoch, the models
   taking turns epoch by epoch so that load from other processes hits all of
   them alike; each model's ratio to the baseline; its share of the machine's
   matmul peak (dense-layer FLOPs per example x examples/s / GFLOP/s of a large
   float32 matmul timed in the same run); peak resident memory;
2. what each optimisation buys (Keras' CPU defaults, then steps_per_execution,
   then XLA, then SparseVAE's fused steps, then the vectorised input
   pipeline), for the baseline and for SparseVAE (laplace, closed-form KL);
3. where a step's time goes: the dense layers' matmuls alone, the baseline's
   whole step with plain SGD and with Adam and gradient clipping, SparseVAE's
   step, each as one XLA loop on a fixed batch; then those steps inside
   ``fit`` (Keras' per-step XLA calls; SparseVAE's fused steps), then with
   the input pipeline;
4. scaling tables (SparseVAE, laplace, closed-form KL): time per 60,000-example
   epoch as the latent size, the latent samples per input and the batch vary.

Run from the repository root::

    python -m benchmarks.bench_training --output /tmp/bench_training.txt  # ~12 min
    python -m benchmarks.bench_training --quick --jit off                 # smoke run

Timings are only comparable within one run; the printout gives the ratios.
"""

import argparse
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_svae import SparseVAE  # noqa: E402
from keras_svae.data import read_mnist_idx  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
DATA_DIM = 784
ENCODER_UNITS = (512, 256)
DECODER_UNITS = (256, 512)
EPOCH_EXAMPLES = 60_000  # what "time per epoch" means in the scaling tables
LAPLACE = dict(prior="laplace", kl="analytic")

# (row label, SparseVAE keyword arguments); None is the hand-written baseline.
MODELS = (
    ("baseline (keras.ops, normal)", None),
    ("SparseVAE normal", dict(prior="normal", kl="auto")),
    ("SparseVAE laplace, closed-form KL", LAPLACE),
    ("SparseVAE laplace, sampled KL", dict(prior="laplace", kl="sampled")),
    ("SparseVAE cauchy", dict(prior="cauchy", kl="auto")),
)


# --------------------------------------------------------------------- data
def load_mnist(folder, limit=None):
    """MNIST training images as uint8 [n, 784], read by the library's IDX reader."""
    images, _ = read_mnist_idx(folder, "train")
    x = images.reshape(len(images), -1)
    return np.array(x[:limit] if limit else x)


def make_dataset(x, batch_size, seed=0):
    """One shuffled epoch of float32 batches in [0, 1] (the benchmark's pipeline).

    The whole set stays in memory as one uint8 tensor (a quarter of float32's
    size; this in-memory copy is what ``cache()`` would give). Each epoch draws
    one permutation of the indices (a random generator keeps its state across
    epochs, so every epoch is reshuffled), slices it into batches, and each
    batch is one vectorised gather plus a cast, run in parallel and
    prefetched: no per-example work. Dropping the remainder keeps the batch
    shape static, so the step is traced (and XLA-compiled) once.
    """
    images = tf.constant(x)
    n = (len(x) // batch_size) * batch_size
    generator = tf.random.Generator.from_seed(seed)

    def epoch(_):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(x)), seed=generator.make_seeds(1)[:, 0]
        )
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order[:n], [-1, batch_size]))

    return (
        tf.data.Dataset.range(1)
        .flat_map(epoch)
        .apply(tf.data.experimental.assert_cardinality(n // batch_size))
        .map(
            lambda i: tf.cast(tf.gather(images, i), tf.float32) / 255.0,
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def make_elementwise_dataset(x, batch_size, seed=0):
    """The textbook pipeline (cache, per-example shuffle, batch, prefetch)."""
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .cache()
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(lambda b: tf.cast(b, tf.float32) / 255.0, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def fixed_batch_dataset(x, batch_size, steps):
    """The same in-memory batch ``steps`` times: no input pipeline work."""
    batch = tf.constant(x[:batch_size].astype(np.float32) / 255.0)
    return tf.data.Dataset.from_tensors(batch).repeat(steps)


# ----------------------------------------------------------------- baseline
class BaselineVAE(keras.Model):
    """The reference: a VAE as one would write it by hand in Keras 3.

    Same MLPs, the same softplus + 1e-4 posterior scale, a Normal(0, 1) prior
    with its KL written out, the Bernoulli log-likelihood as binary cross-
    entropy on logits, and the same three loss metrics as SparseVAE. No TFP,
    no data checks.
    """

    def __init__(
        self,
        latent_dim,
        data_dim=DATA_DIM,
        encoder_units=ENCODER_UNITS,
        decoder_units=DECODER_UNITS,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        dense = keras.layers.Dense
        self.encoder = keras.Sequential(
            [dense(u, activation="relu") for u in encoder_units] + [dense(2 * latent_dim)],
            name="encoder",
        )
        self.decoder = keras.Sequential(
            [dense(u, activation="relu") for u in decoder_units] + [dense(data_dim)], name="decoder"
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.build((None, data_dim))

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((None, self.latent_dim))
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, x, training=False):
        loc, _ = keras.ops.split(self.encoder(x, training=training), 2, axis=-1)
        return keras.ops.sigmoid(self.decoder(loc, training=training))

    def losses_of(self, x):
        ops = keras.ops
        loc, raw_scale = ops.split(self.encoder(x, training=True), 2, axis=-1)
        scale = ops.softplus(raw_scale) + 1e-4
        eps = keras.random.normal(ops.shape(loc), seed=self.seed_generator)
        logits = self.decoder(loc + scale * eps, training=True)
        reconstruction = ops.mean(
            ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)
        )
        kl = ops.mean(
            0.5 * ops.sum(ops.square(loc) + ops.square(scale) - 1.0 - 2.0 * ops.log(scale), axis=-1)
        )
        return reconstruction + kl, reconstruction, kl

    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss, reconstruction, kl = self.losses_of(x)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}


# ------------------------------------------------------------------ helpers
def optimizer():
    """SparseVAE.compile()'s default optimizer, given to every model."""
    return keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0)


def build_model(
    spec,
    latent_dim=10,
    n_samples=1,
    jit_compile=True,
    steps_per_execution=32,
    seed=0,
    fuse_steps=True,
):
    """The baseline (spec None) or a SparseVAE; ``fuse_steps`` is SparseVAE's
    (the baseline always runs Keras' own loop)."""
    if spec is None:
        model = BaselineVAE(latent_dim, seed=seed)
        model.compile(
            optimizer=optimizer(), jit_compile=jit_compile, steps_per_execution=steps_per_execution
        )
        return model
    model = SparseVAE(
        latent_dim,
        likelihood="bernoulli",
        encoder="mlp",
        decoder="mlp",
        encoder_units=ENCODER_UNITS,
        decoder_units=DECODER_UNITS,
        data_shape=(DATA_DIM,),
        n_samples=n_samples,
        seed=seed,
        **spec,
    )
    model.compile(
        optimizer=optimizer(),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        fuse_steps=fuse_steps,
    )
    return model


def train_flops_per_example(latent_dim, n_samples=1):
    """2 * in * out per dense layer forward, x3 for forward + backward.

    The decoder runs once per latent sample. Elementwise work (activations,
    sampling, log-densities, Adam) is not counted; the first layer's unneeded
    input gradient is (the x3 convention), which overstates the work by ~12%.
    """
    enc = (DATA_DIM, *ENCODER_UNITS, 2 * latent_dim)
    dec = (latent_dim, *DECODER_UNITS, DATA_DIM)
    macs = sum(a * b for a, b in zip(enc, enc[1:]))
    macs += n_samples * sum(a * b for a, b in zip(dec, dec[1:]))
    return 3 * 2 * macs


def matmul_gflops(sizes=(1024, 2048), repeats=8):
    """The machine's float32 matmul peak: the best GFLOP/s of an n x n matmul
    over ``sizes``, with TensorFlow's kernel and with XLA's, on all cores."""
    best = 0.0
    for n in sizes:
        a = tf.random.normal([n, n], seed=1)
        b = tf.random.normal([n, n], seed=2)
        for jit in (False, True):
            f = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)), jit_compile=jit)
            f(a, b).numpy()
            for _ in range(repeats):
                start = time.perf_counter()
                f(a, b).numpy()
                best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def epoch_seconds(model, dataset, epochs=1):
    """Seconds of each epoch of one fit() call over ``dataset`` (fit's own
    setup excluded); raises if the loss is not finite."""
    seconds, losses = [], []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)
            losses.append((logs or {}).get("loss"))

    model.fit(dataset, epochs=epochs, verbose=0, shuffle=False, callbacks=[Timer()])
    if not losses or losses[-1] is None or not np.isfinite(losses[-1]):
        raise RuntimeError(f"{model.name}: training loss is {losses[-1:]}")
    return seconds


def timed_fit(model, dataset):
    """Seconds of one fit() epoch over ``dataset``."""
    return epoch_seconds(model, dataset)[0]


def rotated(items, round_):
    """``items`` starting at a different one each round, so that no entry
    always runs first (or right after the same neighbour)."""
    k = round_ % len(items)
    return items[k:] + items[:k]


def interleaved(entries, rounds, warmup=1):
    """Seconds per pass for each (name, model, dataset), taking turns each round."""
    seconds = {name: [] for name, _, _ in entries}
    for round_ in range(warmup + rounds):
        for name, model, dataset in rotated(list(entries), round_):
            t = timed_fit(model, dataset)
            if round_ >= warmup:
                seconds[name].append(t)
    return seconds


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM where there is one: ru_maxrss would do in the parent, but a
    child started by subprocess inherits the parent's ru_maxrss across
    fork/exec, which VmHWM (per address space) does not.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(rows, header):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


# --------------------------------------------------------------- the parts
def bench_priors(x, args, say):
    """Interleaved full epochs of every model in MODELS (rows in MODELS order)."""
    dataset = make_dataset(x, args.batch_size, args.seed)
    examples = (len(x) // args.batch_size) * args.batch_size
    models = [
        (
            label,
            build_model(
                spec, args.latent_dim, 1, args.jit_compile, args.steps_per_execution, args.seed
            ),
            dataset,
        )
        for label, spec in MODELS
    ]
    seconds = {label: [] for label, _ in MODELS}
    for round_ in range(1 + args.epochs):  # round 0 traces and compiles
        rates = {}
        for label, model, data in rotated(models, round_):
            t = timed_fit(model, data)
            rates[label] = f"{examples / t:,.0f}"
            if round_:
                seconds[label].append(t)
        say(
            f"  {'warm-up' if round_ == 0 else f'epoch {round_}'}: examples/s "
            + " | ".join(rates[label] for label, _ in MODELS)
        )
    return {label: [examples / t for t in ts] for label, ts in seconds.items()}


def bench_optimisations(x, args, say):
    """Cumulative optimisations, for the baseline and SparseVAE (laplace)."""
    steps = args.ablation_steps
    element = make_elementwise_dataset(x, args.batch_size, args.seed).take(steps)
    gather = make_dataset(x, args.batch_size, args.seed).take(steps)
    spe = args.steps_per_execution
    configs = (  # label, jit_compile, steps_per_execution, fuse_steps, dataset
        (
            "Keras CPU defaults: jit_compile=auto (off), steps_per_execution=1, "
            "cache/shuffle/batch pipeline",
            False,
            1,
            False,
            element,
        ),
        (f"+ steps_per_execution={spe}", False, spe, False, element),
        ("+ jit_compile=True (XLA, one XLA call per step)", True, spe, False, element),
        (f"+ fused steps (SparseVAE only: {spe} steps per XLA call)", True, spe, True, element),
        ("+ vectorised pipeline (permuted index batches + gather)", True, spe, True, gather),
    )
    models = {}
    entries = []
    for label, jit, s, fuse, data in configs:
        for side, spec in (("baseline", None), ("SparseVAE", LAPLACE)):
            key = (side, jit, s, fuse and spec is not None)
            if key not in models:
                models[key] = build_model(
                    spec, args.latent_dim, 1, jit, s, args.seed, fuse_steps=fuse
                )
            if side == "baseline" and fuse and data is element:
                continue  # the baseline has no fused steps: same as the row above
            entries.append(((label, side), models[key], data))
    seconds = interleaved(entries, args.ablation_rounds)
    ex = steps * args.batch_size
    rows, previous = [], {}
    for label, *_ in configs:
        row = [label]
        for side in ("baseline", "SparseVAE"):
            if (label, side) not in seconds:
                row.append("(same as above)")
                continue
            rate = ex / statistics.median(seconds[(label, side)])
            gain = f" ({rate / previous[side]:.2f}x)" if side in previous else ""
            row.append(f"{rate:,.0f}{gain}")
            previous[side] = rate
        rows.append(row)
    say(table(rows, ["configuration (cumulative)", "baseline ex/s", "SparseVAE laplace ex/s"]))


def bench_profile(x, args, peak, say):
    """Where a step's time goes: XLA loops of whole steps on a fixed batch,
    then the same steps inside fit(), then with the input pipeline."""
    b, z, n = args.batch_size, args.latent_dim, args.profile_steps
    flops = train_flops_per_example(z) * b
    results = []

    # (a) the dense layers' matmuls alone: forward, then the weight gradients
    # and the input gradients (none for the first layer), as one XLA loop.
    dims = [(DATA_DIM, 512), (512, 256), (256, 2 * z), (z, 256), (256, 512), (512, DATA_DIM)]
    weights = [tf.random.normal(d, stddev=0.05, seed=i) for i, d in enumerate(dims)]
    x0 = tf.random.uniform([b, DATA_DIM], seed=7)

    @tf.function(jit_compile=True)
    def matmuls_only(steps):
        def body(i, acc):
            h, inputs = x0 + tf.cast(i, tf.float32) * 1e-6, []
            for j, w in enumerate(weights):
                if j == 3:
                    h = h[:, :z]
                inputs.append(h)
                h = tf.matmul(h, w)
            g = h
            for j in reversed(range(len(weights))):
                acc += tf.reduce_sum(tf.matmul(inputs[j], g, transpose_a=True))
                if j:
                    g = tf.matmul(g, weights[j], transpose_b=True)
                    if j == 3:
                        g = tf.pad(g, [[0, 0], [0, z]])
            return i + 1, acc

        return tf.while_loop(lambda i, _: i < steps, body, (0, 0.0))[1]

    # (b), (c): the baseline's whole step (sampling, BCE, KL, gradients) with
    # plain SGD, then with Adam + global-norm clipping; an XLA loop, no fit().
    batch = tf.constant(x[:b].astype(np.float32) / 255.0)

    def step_loop(model):
        model.optimizer.build(model.trainable_variables)

        @tf.function(jit_compile=True)
        def run(steps):
            def body(i):
                model.train_step(batch)
                return (i + 1,)

            return tf.while_loop(lambda i: i < steps, body, (0,))

        return run

    sgd = BaselineVAE(z, seed=args.seed)
    sgd.compile(optimizer=keras.optimizers.SGD(1e-3))
    adam = build_model(None, z, 1, True, args.steps_per_execution, args.seed)
    svae = build_model(LAPLACE, z, 1, True, args.steps_per_execution, args.seed)
    # (row, what it adds, row it adds to, function)
    loops = [
        ("1", "dense-layer matmuls only (forward + backward)", None, matmuls_only),
        ("2", "+ activations, sampling, BCE, KL; plain SGD update", "1", step_loop(sgd)),
        ("3", "+ Adam with global-norm clipping (the baseline's step)", "2", step_loop(adam)),
        ("4", "SparseVAE laplace's step instead (TFP, closed-form KL)", "3", step_loop(svae)),
    ]
    seconds = {row: [] for row, *_ in loops}
    for _, _, _, fn in loops:
        fn(tf.constant(2))  # compile
    for _ in range(args.profile_rounds):
        for row, _, _, fn in loops:
            start = time.perf_counter()
            out = fn(tf.constant(n))
            tf.nest.map_structure(lambda t: t.numpy(), out)
            seconds[row].append((time.perf_counter() - start) / n)
    for row, name, base, _ in loops:
        results.append((row, name, base, min(seconds[row])))

    # The same steps inside fit(), on a fixed batch, then on the pipeline.
    steps = args.ablation_steps
    fixed = fixed_batch_dataset(x, b, steps)
    piped = make_dataset(x, b, args.seed).take(steps)
    spe = args.steps_per_execution
    fits = [
        (
            "5",
            f"3 in Keras' fit() (one XLA call per step, steps_per_execution={spe}), fixed batch",
            "3",
            adam,
            fixed,
        ),
        (
            "6",
            f"4 in SparseVAE's fit() (fused: {spe} steps per XLA call), fixed batch",
            "4",
            svae,
            fixed,
        ),
        ("7", "5 + input pipeline (the baseline in section 1)", "5", adam, piped),
        ("8", "6 + input pipeline (SparseVAE in section 1)", "6", svae, piped),
    ]
    fit_seconds = interleaved(
        [(row, model, data) for row, _, _, model, data in fits], args.profile_rounds
    )
    for row, name, base, _, _ in fits:
        results.append((row, name, base, min(fit_seconds[row]) / steps))
    by_row = {row: t for row, _, _, t in results}
    rows = []
    for row, name, base, t in results:
        rows.append(
            [
                f"{row}. {name}",
                f"{t * 1e3:.2f}",
                f"{(t - by_row[base]) * 1e3:+.2f} vs {base}" if base else "",
                f"{b / t:,.0f}",
                f"{100 * flops / t / 1e9 / peak:.0f}%",
            ]
        )
    say(
        table(rows, ["step contents (best of rounds)", "ms/step", "added", "examples/s", "of peak"])
    )


def bench_scaling(x, args, say):
    """Time per 60,000-example epoch of SparseVAE (laplace, closed-form KL).

    The latent-size sweep also times the model without XLA, since XLA's CPU
    code is not faster at every size.
    """
    sweeps = (
        ("latent size", "latent_dim", args.scale_latents),
        ("latent samples per input", "n_samples", args.scale_samples),
        ("batch size", "batch_size", args.scale_batches),
    )
    other_jit = None
    if args.scale_compare_jit and isinstance(args.jit_compile, bool):
        other_jit = not args.jit_compile

    measured = {}  # the default configuration is in more than one sweep

    def seconds_per_epoch(cfg, jit_compile):
        key = (tuple(sorted(cfg.items())), jit_compile)
        if key not in measured:
            measured[key] = measure(cfg, jit_compile)
        return measured[key]

    def measure(cfg, jit_compile):
        steps = max(2, args.scale_examples // cfg["batch_size"])
        dataset = make_dataset(x, cfg["batch_size"], args.seed).take(steps)
        model = build_model(
            LAPLACE,
            cfg["latent_dim"],
            cfg["n_samples"],
            jit_compile,
            args.steps_per_execution,
            args.seed,
        )
        # One fit() call; its first epoch traces and compiles. The fastest
        # epoch: load from other processes only ever slows an epoch down.
        t = min(epoch_seconds(model, dataset, 1 + args.scale_repeats)[1:])
        del model
        keras.backend.clear_session(free_memory=True)
        return t * EPOCH_EXAMPLES / (steps * cfg["batch_size"])

    for title, key, values in sweeps:
        compare = key == "latent_dim" and other_jit is not None
        rows = []
        for value in values:
            cfg = dict(latent_dim=args.latent_dim, n_samples=1, batch_size=args.batch_size)
            cfg[key] = value
            t = seconds_per_epoch(cfg, args.jit_compile)
            rate = EPOCH_EXAMPLES / t
            flops = train_flops_per_example(cfg["latent_dim"], cfg["n_samples"])
            row = [
                value,
                f"{t:.2f}",
                f"{rate:,.0f}",
                f"{flops / 1e6:.2f}",
                f"{flops * rate / 1e9:.1f}",
            ]
            if compare:
                row.append(f"{seconds_per_epoch(cfg, other_jit):.2f}")
            rows.append(row)
        header = [key, "s/epoch", "examples/s", "MFLOP/ex", "GFLOP/s"]
        if compare:
            header.append(f"s/epoch jit_compile={other_jit}")
        say(f"by {title}:")
        say(table(rows, header))
        say()


def rss_probe(args):
    """Child process: one epoch of SparseVAE (laplace) on MNIST; print peak RSS."""
    x = load_mnist(args.data, args.limit)
    model = build_model(
        LAPLACE, args.latent_dim, 1, args.jit_compile, args.steps_per_execution, args.seed
    )
    timed_fit(model, make_dataset(x, args.batch_size, args.seed))
    print(f"RSS_PEAK_MIB {peak_rss_mib():.0f}")


def probe_rss_in_subprocess(args):
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_training",
        "--rss-probe",
        "--data",
        args.data,
        "--jit",
        args.jit,
        "--steps-per-execution",
        str(args.steps_per_execution),
    ]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(root)) if p)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
    for line in out.stdout.splitlines():
        if line.startswith("RSS_PEAK_MIB"):
            return float(line.split()[1])
    raise RuntimeError(f"RSS probe failed:\n{out.stdout}\n{out.stderr}")


# --------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 512 images, 1 measured epoch, tiny sections",
    )
    p.add_argument(
        "--data", default=str(DEFAULT_DATA), help="folder holding train-images-idx3-ubyte.gz"
    )
    p.add_argument("--limit", type=int, default=None, help="use the first N images")
    p.add_argument(
        "--epochs", type=int, default=7, help="measured epochs per model after the warm-up epoch"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument(
        "--jit",
        choices=("on", "off", "auto"),
        default="on",
        help="jit_compile for every model (Keras' 'auto' is off on CPU)",
    )
    p.add_argument("--steps-per-execution", type=int, default=32)
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: optimisations,profile,scaling,rss",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="also write the printout here")
    p.add_argument("--rss-probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.jit_compile = {"on": True, "off": False, "auto": "auto"}[args.jit]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.ablation_steps, args.ablation_rounds = 64, 4
    args.profile_steps, args.profile_rounds = 96, 8
    args.scale_examples, args.scale_repeats = 7_680, 4
    args.scale_latents = (2, 8, 32, 128, 256)
    args.scale_samples = (1, 2, 4, 8, 16)
    args.scale_batches = (32, 64, 128, 256, 512, 1024)
    args.peak_sizes, args.peak_repeats = (1024, 2048), 8
    args.scale_compare_jit = not args.quick
    if args.quick:
        args.limit = args.limit or 512
        args.epochs = 1
        args.peak_sizes, args.peak_repeats = (512,), 2
        args.ablation_steps, args.ablation_rounds = 4, 1
        args.profile_steps, args.profile_rounds = 2, 1
        args.scale_examples, args.scale_repeats = 256, 1
        args.scale_latents, args.scale_samples, args.scale_batches = (2,), (1,), (128,)
        args.skip.add("rss")
    return args


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*`deterministic` argument has no effect")
    tf.get_logger().setLevel(logging.ERROR)
    if args.rss_probe:
        return rss_probe(args)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    started = time.time()
    keras.utils.set_random_seed(args.seed)
    x = load_mnist(args.data, args.limit)
    say("keras_svae training benchmark")
    say(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    say(
        f"machine: {os.cpu_count()} CPU cores, {cpu_name()}; python "
        f"{platform.python_version()}, tensorflow {tf.__version__}, keras "
        f"{keras.__version__}"
    )
    say(
        "command: python -m benchmarks.bench_training "
        + " ".join(argv if argv is not None else sys.argv[1:])
    )
    say(
        f"data: MNIST train, {len(x):,} images x 784 (uint8 in memory), pixels/255; "
        "tf.data: one index permutation per epoch, batches of indices, gather+cast "
        "map, prefetch"
    )
    say(
        f"model: MLP 784-{'-'.join(map(str, ENCODER_UNITS))}-2z / "
        f"z-{'-'.join(map(str, DECODER_UNITS))}-784, Bernoulli likelihood, "
        f"z={args.latent_dim}, batch {args.batch_size}, 1 latent sample"
    )
    say(
        f"compile (every model): Adam(1e-3, global_clipnorm=10), jit_compile="
        f"{args.jit_compile}, steps_per_execution={args.steps_per_execution}"
    )
    peak_before = matmul_gflops(args.peak_sizes, args.peak_repeats)
    say(
        f"matmul peak (float32 n x n, n = {' and '.join(map(str, args.peak_sizes))}, "
        f"TF and XLA kernels, best of {args.peak_repeats} each): "
        f"{peak_before:.1f} GFLOP/s"
    )
    flops = train_flops_per_example(args.latent_dim)
    say(
        f"FLOPs per example: {flops / 1e6:.2f} MFLOP (dense layers only: "
        "2*in*out per layer forward, x3 for forward + backward)"
    )

    say()
    say(
        f"1. Throughput: median of {args.epochs} epochs of "
        f"{(len(x) // args.batch_size) * args.batch_size:,} examples after one "
        "warm-up epoch, models taking turns epoch by epoch"
    )
    rates = bench_priors(x, args, say)
    peak_after = matmul_gflops(args.peak_sizes, args.peak_repeats)
    peak = max(peak_before, peak_after)
    rss_main = peak_rss_mib()
    baseline = rates[MODELS[0][0]]
    base, base_best = statistics.median(baseline), max(baseline)
    rows = []
    for label, _ in MODELS:
        rate, best = statistics.median(rates[label]), max(rates[label])
        paired = statistics.median(r / b for r, b in zip(rates[label], baseline))
        rows.append(
            [
                label,
                f"{rate:,.0f}",
                f"{best:,.0f}",
                f"{rate / base:.2f}x",
                f"{paired:.2f}x",
                f"{best / base_best:.2f}x",
                f"{flops * rate / 1e9:.1f}",
                f"{100 * flops * rate / 1e9 / peak:.0f}%",
                f"{100 * flops * best / 1e9 / peak:.0f}%",
            ]
        )
    say()
    say(
        table(
            rows,
            [
                "model",
                "examples/s",
                "best",
                "vs baseline",
                "paired",
                "best/best",
                "GFLOP/s",
                "of peak",
                "best of peak",
            ],
        )
    )
    say(
        "examples/s and GFLOP/s: median epoch; best: fastest epoch (other load "
        "only ever slows an epoch down); vs baseline: ratio of the medians; "
        "paired: median over rounds of the ratio to the baseline's epoch in the "
        "same round; best/best: ratio of the fastest epochs"
    )
    say(
        f"matmul peak {peak_before:.1f} GFLOP/s before this table, "
        f"{peak_after:.1f} after; shares use the higher, {peak:.1f}"
    )
    say(f"peak resident memory of this process after the table (5 models): {rss_main:,.0f} MiB")
    if "rss" not in args.skip:
        say(
            f"peak resident memory, one SparseVAE (laplace) trained one epoch in a "
            f"fresh process: {probe_rss_in_subprocess(args):,.0f} MiB"
        )

    if "optimisations" not in args.skip:
        say()
        say(
            f"2. What each optimisation buys (median of {args.ablation_rounds} "
            f"interleaved passes of {args.ablation_steps} steps; gain over the "
            "row above)"
        )
        bench_optimisations(x, args, say)
    if "profile" not in args.skip:
        say()
        say(
            "3. Where a step's time goes (MNIST MLP as in 1, batch "
            f"{args.batch_size}, XLA; best of {args.profile_rounds} rounds; "
            f"'of peak' = {flops / 1e6:.2f} MFLOP/example x examples/s / "
            f"{peak:.1f} GFLOP/s)"
        )
        bench_profile(x, args, peak, say)
    if "scaling" not in args.skip:
        say()
        say(
            "4. Scaling: SparseVAE laplace, closed-form KL, other settings as in 1; "
            f"time per {EPOCH_EXAMPLES:,}-example epoch from epochs of "
            f"{args.scale_examples:,} examples (fastest of {args.scale_repeats} "
            "epochs after a warm-up epoch, in one fit() call)"
        )
        say()
        bench_scaling(x, args, say)
    say(
        f"peak resident memory of this process, whole benchmark (dozens of models "
        f"built and compiled in turn, not one training run): {peak_rss_mib():,.0f} MiB"
    )
    say(f"total wall time: {time.time() - started:.0f} s")
    if args.output:
        Path(args.output).write_text("\n".join(lines) + "\n")
    return lines


if __name__ == "__main__":
    main()
