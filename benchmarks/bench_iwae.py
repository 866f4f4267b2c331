"""Cost of the importance-weighted bound (IWAE) against a training step.

The model is the training benchmark's (``benchmarks/bench_training.py``): MLP
encoder 784-512-256-2z and decoder z-256-512-784, Bernoulli likelihood, z = 10,
Laplace prior with the closed-form KL, trained here for ``--epochs`` epochs
on the MNIST training images (pixels / 255) so the bound is that of a fitted
model. Then, in the same process:

1. the forward pass of a training step (posterior, one latent sample,
   decoder, log-likelihood, KL; batch 128), timed as one loop of steps inside
   a ``tf.function`` over real batches, with XLA (as training compiles it) and
   without; the faster one is the reference;
2. ``keras_svae.evaluation.iwae`` with k = 5,000 samples on the 10,000 MNIST
   test digits, timed end to end (tracing and the progress bar included).

It prints the total time, the cost per importance sample against the forward
pass per example (their ratio), and checks the targets: at most 10 minutes on
the 2-core development machine and at most 1.5x the forward pass per sample.
A sample costs the decoder and the log-densities; the encoder runs once per
digit, so a sample should cost about half a forward pass.

Run from the repository root::

    python -m benchmarks.bench_iwae --output /tmp/bench_iwae.txt   # ~7 min
    python -m benchmarks.bench_iwae --quick --jit off                # smoke run

Timings are only comparable within one run; the printout gives the ratio.
"""

import argparse
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.training.baseline import DATA_DIM, DECODER_UNITS, ENCODER_UNITS  # noqa: E402
from benchmarks.training.data import DEFAULT_DATA, load_mnist, make_dataset  # noqa: E402
from benchmarks.training.models import LAPLACE, build_model  # noqa: E402
from benchmarks.training.timing import matmul_gflops, peak_rss_mib  # noqa: E402
from keras_svae import evaluation  # noqa: E402
from keras_svae.data import read_mnist_idx  # noqa: E402
from keras_svae.kl import kl_divergence  # noqa: E402

TARGET_SECONDS = 600.0
TARGET_RATIO = 1.5
FORWARD_BATCH = 128


def load_test_digits(folder, limit=None):
    """MNIST test images as float32 [n, 784] in [0, 1]."""
    images, _ = read_mnist_idx(folder, "test")
    x = images.reshape(len(images), -1)[:limit].astype(np.float32) / 255.0
    return x


def decoder_flops_per_sample(latent_dim):
    """2 * in * out per dense layer of the decoder: what one importance sample costs."""
    sizes = (latent_dim, *DECODER_UNITS, DATA_DIM)
    return 2 * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))


def forward_seconds_per_example(model, x, steps, rounds, jit_compile, seed=0):
    """Seconds per example of a training step's forward pass (no gradients).

    One step: q(z given x), one reparameterised sample, the decoder, the
    Bernoulli log-likelihood and the KL (closed form where registered), as
    ``SparseVAE``'s loss computes them. ``steps`` steps run as one
    ``tf.while_loop`` over batches of real digits (each step reads the
    next batch, so nothing is loop-invariant); the best of ``rounds``.
    """
    n_batches = max(1, len(x) // FORWARD_BATCH)
    batches = tf.constant(x[: n_batches * FORWARD_BATCH].reshape(n_batches, FORWARD_BATCH, -1))

    @tf.function(jit_compile=jit_compile)
    def run(count):
        def body(i, total):
            batch = tf.gather(batches, i % n_batches)
            q = model.posterior(batch)
            z = q.sample(seed=tf.stack([seed, i]))
            outputs = model.decoder(z)
            log_likelihood = model.likelihood.log_prob(batch, outputs, 1)
            kl = kl_divergence(q, model.prior, z[None], mode="auto")
            return i + 1, total + tf.reduce_mean(kl - log_likelihood)

        return tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), tf.constant(0.0)))[1]

    run(tf.constant(2)).numpy()  # trace and compile
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run(tf.constant(steps)).numpy()
        best = min(best, time.perf_counter() - start)
    return best / (steps * FORWARD_BATCH)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: few digits, small k")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the MNIST IDX files")
    p.add_argument("--k", type=int, default=5000, help="importance samples per digit")
    p.add_argument("--limit", type=int, default=None, help="use the first N test digits")
    p.add_argument("--train-limit", type=int, default=None, help="train on N images")
    p.add_argument("--epochs", type=int, default=2, help="training epochs before evaluating")
    p.add_argument("--batch-size", type=int, default=32, help="digits per IWAE call")
    p.add_argument("--jit", choices=("on", "off"), default="on", help="XLA for training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="also write the printout here")
    args = p.parse_args(argv)
    args.jit_compile = args.jit == "on"
    args.forward_steps, args.forward_rounds = 200, 5
    args.peak_sizes, args.peak_repeats = (1024, 2048), 4
    if args.quick:
        args.k = min(args.k, 50)
        args.limit = args.limit or 64
        args.train_limit = args.train_limit or 512
        args.epochs = 1
        args.forward_steps, args.forward_rounds = 4, 1
        args.peak_sizes, args.peak_repeats = (256,), 1
    return args


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*`deterministic` argument has no effect")
    tf.get_logger().setLevel(logging.ERROR)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    started = time.time()
    keras.utils.set_random_seed(args.seed)
    train = load_mnist(args.data, args.train_limit)
    x = load_test_digits(args.data, args.limit)
    say("keras_svae IWAE benchmark")
    say(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    say(
        f"machine: {os.cpu_count()} CPU cores; python {platform.python_version()}, "
        f"tensorflow {tf.__version__}, keras {keras.__version__}"
    )
    say("command: python -m benchmarks.bench_iwae " + " ".join(argv or sys.argv[1:]))
    say(
        f"model: MLP 784-{'-'.join(map(str, ENCODER_UNITS))}-2z / "
        f"z-{'-'.join(map(str, DECODER_UNITS))}-784, Bernoulli likelihood, z=10, laplace "
        "prior (closed-form KL), as in bench_training"
    )
    peak = matmul_gflops(args.peak_sizes, args.peak_repeats)
    say(f"matmul peak (float32 n x n, best of {args.peak_repeats}): {peak:.1f} GFLOP/s")

    model = build_model(LAPLACE, 10, 1, args.jit_compile, 32, args.seed)
    start = time.perf_counter()
    history = model.fit(
        make_dataset(train, 128, args.seed), epochs=args.epochs, verbose=0, shuffle=False
    )
    say(
        f"training: {args.epochs} epoch(s) of {len(train):,} images, batch 128, "
        f"jit_compile={args.jit_compile}: {time.perf_counter() - start:.1f} s, final loss "
        f"{history.history['loss'][-1]:.2f}"
    )

    say()
    say(
        f"1. Forward pass of a training step (batch {FORWARD_BATCH}, best of "
        f"{args.forward_rounds} loops of {args.forward_steps} steps on training images)"
    )
    train_batches = train[: 64 * FORWARD_BATCH].astype(np.float32) / 255.0
    forward = {}
    for jit in (True, False):
        forward[jit] = forward_seconds_per_example(
            model, train_batches, args.forward_steps, args.forward_rounds, jit, args.seed
        )
        say(f"   jit_compile={jit}: {forward[jit] * 1e6:.2f} us/example")
    reference = min(forward.values())
    say(f"   reference (the faster): {reference * 1e6:.2f} us/example")

    say()
    say(
        f"2. IWAE, k = {args.k:,}, on {len(x):,} MNIST test digits "
        f"({args.batch_size} digits per call)"
    )
    start = time.perf_counter()
    bound = evaluation.iwae(model, x, k=args.k, batch_size=args.batch_size, seed=args.seed)
    total = time.perf_counter() - start
    samples = len(x) * args.k
    per_sample = total / samples
    ratio = per_sample / reference
    gflops = decoder_flops_per_sample(10) / per_sample / 1e9
    elbo = evaluation.elbo(model, x, seed=args.seed)
    say(f"   total time: {total:.1f} s for {samples:,} samples")
    say(
        f"   per sample: {per_sample * 1e6:.2f} us ({samples / total:,.0f} samples/s; decoder "
        f"matmuls {gflops:.1f} GFLOP/s, {100 * gflops / peak:.0f}% of the matmul peak)"
    )
    say(f"   ratio to the forward pass per example: {ratio:.2f}x")
    say(
        f"   mean IWAE bound: {bound.mean():.2f} nats; mean single-draw ELBO: "
        f"{elbo.mean():.2f} nats"
    )
    say(f"   peak resident memory: {peak_rss_mib():,.0f} MiB")

    say()
    full = samples == 10_000 * 5_000
    say(f"targets ({'full run' if full else 'not the full run: k and digits differ'}):")
    say(
        f"   total <= {TARGET_SECONDS:.0f} s: {total:.1f} s, "
        f"{'met' if total <= TARGET_SECONDS else 'NOT met'}"
    )
    say(
        f"   per sample <= {TARGET_RATIO}x the forward pass: {ratio:.2f}x, "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )
    say(f"total wall time: {time.time() - started:.0f} s")
    if args.output:
        Path(args.output).write_text("\n".join(lines) + "\n")
    return {
        "total": total,
        "per_sample": per_sample,
        "reference": reference,
        "ratio": ratio,
        "bound": bound,
        "lines": lines,
    }


if __name__ == "__main__":
    main()
