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
This module is the command line; the model, the clocks and each section live
in ``benchmarks/training/``, one module each.
"""

import argparse
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.training.baseline import DECODER_UNITS, ENCODER_UNITS  # noqa: E402
from benchmarks.training.data import DEFAULT_DATA, load_mnist, make_dataset  # noqa: E402
from benchmarks.training.models import (  # noqa: E402
    LAPLACE,
    MODELS,
    build_model,
    train_flops_per_example,
)
from benchmarks.training.optimisations import bench_optimisations  # noqa: E402
from benchmarks.training.priors import bench_priors  # noqa: E402
from benchmarks.training.profile import bench_profile  # noqa: E402
from benchmarks.training.scaling import EPOCH_EXAMPLES, bench_scaling  # noqa: E402
from benchmarks.training.timing import (  # noqa: E402
    cpu_name,
    matmul_gflops,
    peak_rss_mib,
    table,
    timed_fit,
)


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
