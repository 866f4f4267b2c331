"""Training speed of the natural-image experiment's default model.

The model (issue 17): SparseVAE with 169 latents for 12x12 whitened patches
(144 values), Laplace(0, 1) prior, Normal posterior, MLP encoder 144-256-338,
linear decoder 169-144, Gaussian likelihood of fixed scale e^-2, batch 32,
Adam(1e-3, global_clipnorm=10), XLA, 32 steps per execution. It is set
against ``NaturalBaselineVAE``, the same model written by hand with
``keras.ops`` (the closed-form KL(Normal || Laplace) written out, no TFP, no
data checks), as ``benchmarks/training/baseline.py`` does for MNIST.

It prints the examples/s of each (and of SparseVAE running Keras' own step
loop, one XLA call per step as the baseline, to show what its fused steps
buy) (median over rounds of one epoch each after a
warm-up round, the two models taking turns so that load from other processes
hits all alike), their ratio, and the projected training time of the
experiment's default run (90,000 training patches x 15 epochs) at SparseVAE's
rate, and whether it is under 10 minutes. The data are standard normal draws
in memory: shaped and scaled like whitened patches (identity covariance), and
the speed of a step does not depend on the values. With ``--data-dir`` it also
times SparseVAE on the library's pipeline of whitened patches of photographs
(random crops, ``keras_svae.data.load_image_patches``), what the experiment
trains on.

Run from the repository root::

    python -m benchmarks.bench_natural --data-dir ../shared/data/bsds300/train  # ~1 min
    python -m benchmarks.bench_natural --quick --jit off                # smoke run
"""

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.training.models import optimizer  # noqa: E402
from benchmarks.training.timing import cpu_name, interleaved, table  # noqa: E402
from keras_svae import SparseVAE  # noqa: E402
from keras_svae.data.images import list_image_files, load_image_patches  # noqa: E402

PATCH = 12
DATA_DIM = PATCH * PATCH
LATENT_DIM = 169
ENCODER_UNITS = (256,)
NOISE_SCALE = math.exp(-2.0)
BATCH_SIZE = 32
# The experiment's default run, projected from the measured rate.
RUN_EXAMPLES, RUN_EPOCHS, RUN_BUDGET_MINUTES = 90_000, 15, 10
BASELINE, SVAE = "baseline (keras.ops, laplace)", "SparseVAE laplace, closed-form KL"
UNFUSED = "SparseVAE, Keras' step loop (fuse_steps=False)"
PIPELINE = "SparseVAE on the BSDS patch pipeline"


def kl_normal_laplace(loc, scale):
    """KL(Normal(loc, scale) || Laplace(0, 1)) per element, written out:
    -H(q) + log 2 + E|z|, with E|z| = s sqrt(2 / pi) exp(-m^2 / 2 s^2)
    + m (1 - 2 Phi(-m / s)) and 2 Phi(-a) = erfc(a / sqrt 2)."""
    ops = keras.ops
    mean_abs = scale * math.sqrt(2 / math.pi) * ops.exp(-0.5 * ops.square(loc / scale))
    mean_abs = mean_abs + loc * (1.0 - ops.erfc(loc / (scale * math.sqrt(2.0))))
    return -ops.log(scale) - 0.5 * math.log(2 * math.pi * math.e) + math.log(2.0) + mean_abs


class NaturalBaselineVAE(keras.Model):
    """The natural experiment's VAE as one would write it by hand in Keras 3.

    Encoder 144-256-(2 x 169) with ReLU, a Normal posterior (softplus + 1e-4
    scale, as SparseVAE's), one reparameterised draw, a linear decoder
    169-144, the Gaussian negative log-likelihood of fixed scale written out,
    and KL(Normal(m, s) || Laplace(0, 1)) in closed form (``kl_normal_laplace``).
    """

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        dense = keras.layers.Dense
        self.encoder = keras.Sequential(
            [dense(u, activation="relu") for u in ENCODER_UNITS] + [dense(2 * LATENT_DIM)],
            name="encoder",
        )
        self.decoder = keras.Sequential([dense(DATA_DIM)], name="decoder")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.encoder.build((None, DATA_DIM))
        self.decoder.build((None, LATENT_DIM))
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, x, training=False):
        loc, _ = keras.ops.split(self.encoder(x, training=training), 2, axis=-1)
        return self.decoder(loc, training=training)

    def losses_of(self, x):
        ops = keras.ops
        loc, raw_scale = ops.split(self.encoder(x, training=True), 2, axis=-1)
        scale = ops.softplus(raw_scale) + 1e-4
        eps = keras.random.normal(ops.shape(loc), seed=self.seed_generator)
        mean = self.decoder(loc + scale * eps, training=True)
        squared = ops.sum(ops.square((x - mean) / NOISE_SCALE), axis=-1)
        constant = DATA_DIM * (math.log(NOISE_SCALE) + 0.5 * math.log(2 * math.pi))
        reconstruction = ops.mean(0.5 * squared + constant)
        kl = ops.mean(ops.sum(kl_normal_laplace(loc, scale), axis=-1))
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


def build_svae(args, fuse_steps=True):
    """The natural experiment's default SparseVAE, compiled as the baseline."""
    svae = SparseVAE(LATENT_DIM, prior="laplace", decoder="linear", encoder_units=ENCODER_UNITS,
                     likelihood_scale=NOISE_SCALE, learn_likelihood_scale=False,
                     data_shape=(DATA_DIM,), seed=args.seed)  # fmt: skip
    svae.compile(optimizer=optimizer(), fuse_steps=fuse_steps, jit_compile=args.jit_compile,
                 steps_per_execution=args.steps_per_execution)  # fmt: skip
    return svae


def build_models(args):
    """(label, compiled model) of the baseline, SparseVAE, and SparseVAE
    running Keras' own step loop as the baseline does, compiled alike."""
    baseline = NaturalBaselineVAE(seed=args.seed)
    baseline.compile(optimizer=optimizer(), jit_compile=args.jit_compile,
                     steps_per_execution=args.steps_per_execution)  # fmt: skip
    return [(BASELINE, baseline), (SVAE, build_svae(args)), (UNFUSED, build_svae(args, False))]


def make_dataset(x, batch_size, seed):
    """One epoch of ``x`` in memory, reshuffled every epoch, full batches only."""
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def bsds_pipeline(folder, examples, seed):
    """The library's patch pipeline on the photographs in ``folder``: random
    12x12 crops (about ``examples`` in all), ZCA-whitened, batches of 32.
    Returns (dataset, examples per pass)."""
    files = list_image_files(folder)
    dataset, info = load_image_patches(files, patch_size=PATCH,
                                       patches_per_image=math.ceil(examples / len(files)),
                                       whiten="zca", batch_size=BATCH_SIZE, seed=seed,
                                       drop_remainder=True)  # fmt: skip
    return dataset, info.num_examples // BATCH_SIZE * BATCH_SIZE


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 1,024 examples, 1 round")
    p.add_argument("--examples", type=int, default=10_240, help="examples per timed epoch")
    p.add_argument("--rounds", type=int, default=7, help="timed rounds after a warm-up round")
    p.add_argument("--jit", choices=("on", "off"), default="on", help="jit_compile of both")
    p.add_argument("--steps-per-execution", type=int, default=32)
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder of photographs (BSDS300 train): also time SparseVAE on the library's "
        "patch pipeline (crops, ZCA whitening) instead of data in memory",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="also write the printout here")
    args = p.parse_args(argv)
    if args.quick:
        args.examples, args.rounds = 1_024, 1
    steps = args.examples // BATCH_SIZE
    if steps < 1 or steps % args.steps_per_execution:
        p.error(
            f"--examples {args.examples} must make a whole number of executions: a multiple "
            f"of batch {BATCH_SIZE} x --steps-per-execution {args.steps_per_execution}."
        )
    args.jit_compile = args.jit == "on"
    return args


def main(argv=None):
    args = parse_args(argv)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    started = time.time()
    keras.utils.set_random_seed(args.seed)
    x = np.random.default_rng(args.seed).normal(size=(args.examples, DATA_DIM))
    dataset = make_dataset(x.astype(np.float32), BATCH_SIZE, args.seed)
    say("keras_svae natural-experiment training benchmark")
    say(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    say(
        f"machine: {os.cpu_count()} CPU cores, {cpu_name()}; load average "
        f"{os.getloadavg()[0]:.2f} at the start; python {platform.python_version()}, "
        f"tensorflow {tf.__version__}, keras {keras.__version__}"
    )
    say("command: python -m benchmarks.bench_natural " + " ".join(argv or sys.argv[1:]))
    say(
        f"model: {DATA_DIM}-{'-'.join(map(str, ENCODER_UNITS))}-{2 * LATENT_DIM} encoder, "
        f"linear {LATENT_DIM}-{DATA_DIM} decoder, Normal posterior, Laplace(0, 1) prior "
        f"(closed-form KL), Gaussian likelihood of fixed scale e^-2, batch {BATCH_SIZE}"
    )
    say(
        f"compile (all): Adam(1e-3, global_clipnorm=10), jit_compile={args.jit_compile}, "
        f"steps_per_execution={args.steps_per_execution}"
    )
    say(
        f"data: {args.examples:,} standard normal examples of {DATA_DIM} values (whitened "
        "12x12 patches' shape and scale), in memory, reshuffled every epoch"
    )
    entries = [(label, model, dataset) for label, model in build_models(args)]
    examples = dict.fromkeys((label for label, _, _ in entries), args.examples)
    if args.data_dir:
        start = time.perf_counter()
        pipeline, examples[PIPELINE] = bsds_pipeline(args.data_dir, args.examples, args.seed)
        loading = time.perf_counter() - start
        entries.append((PIPELINE, build_svae(args), pipeline))
        say(
            f"pipeline row: {examples[PIPELINE]:,} random 12x12 crops of the photographs in "
            f"{args.data_dir}, ZCA-whitened, keras_svae.data.load_image_patches (reading, "
            f"cropping and whitening them took {loading:.1f} s)"
        )
    seconds = interleaved(entries, args.rounds)
    rates = {label: [examples[label] / s for s in seconds[label]] for label in examples}
    base, svae = statistics.median(rates[BASELINE]), statistics.median(rates[SVAE])
    paired = statistics.median(s / b for s, b in zip(rates[SVAE], rates[BASELINE]))
    say()
    say(
        f"examples/s: median of {args.rounds} epochs of about {args.examples:,} examples after "
        "a warm-up epoch, the models taking turns"
    )
    rows = []
    for label, r in rates.items():
        median = statistics.median(r)
        rows.append([label, f"{median:,.0f}", f"{max(r):,.0f}", f"{median / base:.2f}x"])
    say(table(rows, ["model", "examples/s", "best", "vs baseline"]))
    say(f"SparseVAE / baseline: {svae / base:.2f}x (ratio of medians), {paired:.2f}x (paired)")
    for label, what in ((SVAE, "data in memory"), (PIPELINE, "the patch pipeline")):
        if label in rates:
            run_seconds = RUN_EXAMPLES * RUN_EPOCHS / statistics.median(rates[label])
            verdict = "under" if run_seconds < 60 * RUN_BUDGET_MINUTES else "NOT under"
            say(
                f"projected training time of the default run ({RUN_EXAMPLES:,} patches x "
                f"{RUN_EPOCHS} epochs) at {label}'s median rate ({what}): "
                f"{run_seconds / 60:.1f} min, {verdict} {RUN_BUDGET_MINUTES} min on this machine "
                "(training only: no photograph loading, evaluation or figures)"
            )
    wall = time.time() - started
    say(f"load average at the end: {os.getloadavg()[0]:.2f}; wall time {wall:.0f} s")
    if args.output:
        Path(args.output).write_text("\n".join(lines) + "\n")
    return lines


if __name__ == "__main__":
    main()
