"""Latency and throughput of an exported decoder in each runtime, in one run.

For one SparseVAE decoder (by default an untrained MNIST-sized one: 10 latents,
MLP 10-128-256-784, Bernoulli likelihood; or ``--model runs/x/model.keras``)
it exports the SavedModel and the float32, float16 and dynamic-range TFLite
files, then times, on this machine and in this process:

* Keras ``decoder(z)`` (eager call), Keras ``decoder.predict(z)``,
* the SavedModel's ``decode`` signature (``tf.saved_model.load``),
* each TFLite file through ``ai_edge_litert``'s Interpreter (tensors allocated
  once per batch size, then set_tensor / invoke / get_tensor per call),

as the median single-sample latency over ``--repeats`` calls and the
batch-of-256 throughput (256 / median batch time over ``--batch-repeats``
calls), after ``--warmup`` untimed calls. Every call returns a numpy array, so
each row includes getting its output out of the runtime. It prints a table and
the ratio of Keras ``decoder(z)`` latency to float32 TFLite latency (target: at
least 10x). Timings are only comparable within one run.

Run from the repository root::

    python -m benchmarks.bench_export                      # default model, ~1 minute
    python -m benchmarks.bench_export --model runs/x/model.keras --repeats 500
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCH = 256
TARGET_SPEEDUP = 10.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_export", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a SparseVAE .keras file (default: an untrained 28x28 MLP decoder)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=300,
        help="timed single-sample calls per runtime (default 300)",
    )
    parser.add_argument(
        "--batch-repeats",
        type=int,
        default=30,
        help=f"timed batch-of-{BATCH} calls per runtime (default 30)",
    )
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="stop timing a runtime after this many seconds (>= 5 calls; default 10)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="LiteRT CPU threads (default: the runtime's choice)",
    )
    return parser.parse_args(argv)


def _median_seconds(call, z, repeats, warmup, budget_s):
    """Median seconds per call, and the number of timed calls.

    Stops early (after at least 5 calls) once ``budget_s`` seconds are spent, so
    slow runtimes (``predict``) do not dominate the run.
    """
    for _ in range(warmup):
        call(z)
    times = []
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        call(z)
        times.append(time.perf_counter() - start)
        spent += times[-1]
        if spent > budget_s and len(times) >= 5:
            break
    return statistics.median(times), len(times)


def _tflite_call(path, batch, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    (z_detail,) = interpreter.get_input_details()  # the decode signature's z
    (out_detail,) = interpreter.get_output_details()  # and its images
    z_index, out_index = z_detail["index"], out_detail["index"]
    interpreter.resize_tensor_input(z_index, [batch, int(z_detail["shape"][1])])
    interpreter.allocate_tensors()

    def call(z):
        interpreter.set_tensor(z_index, z)
        interpreter.invoke()
        return interpreter.get_tensor(out_index)

    call.interpreter = interpreter  # keep it alive with the closure
    return call


def _default_model():
    from keras_svae import SparseVAE

    return SparseVAE(
        latent_dim=10,
        prior="laplace",
        data_shape=(28, 28, 1),
        decoder="mlp",
        likelihood="bernoulli",
        seed=0,
    )


def run(argv=None):
    """Export, time every runtime, print the table; return the results as a dict."""
    args = parse_args(argv)
    for name in ("repeats", "batch_repeats"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1")

    import keras
    import tensorflow as tf

    from keras_svae.export import TFLITE_FILES, export_decoder, load_sparse_vae, sample_prior

    model = load_sparse_vae(args.model) if args.model else _default_model()
    decoder = model.decoder
    with tempfile.TemporaryDirectory(prefix="bench_export.") as tmp:
        folder = Path(tmp) / "exported"
        info = export_decoder(model, folder, quantize=("float16", "dynamic"))
        z1 = sample_prior(info["prior"], 1, seed=1)
        zb = sample_prior(info["prior"], BATCH, seed=2)
        signature = tf.saved_model.load(str(folder / "saved_model")).signatures["decode"]
        runtimes = [
            ("Keras decoder(z)", lambda z: np.asarray(decoder(z)), None),
            ("Keras decoder.predict(z)", lambda z: decoder.predict(z, verbose=0), None),
            (
                "SavedModel decode signature",
                lambda z: signature(z=tf.constant(z))["images"].numpy(),
                None,
            ),
        ]
        for variant in ("float32", "float16", "dynamic"):
            path = folder / TFLITE_FILES[variant]
            runtimes.append(
                (
                    f"TFLite {variant}",
                    _tflite_call(path, 1, args.threads),
                    _tflite_call(path, BATCH, args.threads),
                )
            )
        rows = []
        for name, single, batched in runtimes:
            batched = batched or single
            latency, calls = _median_seconds(single, z1, args.repeats, args.warmup, args.budget)
            batch_time, batch_calls = _median_seconds(
                batched, zb, args.batch_repeats, max(1, args.warmup // 5), args.budget
            )
            rows.append(
                {
                    "runtime": name,
                    "latency_s": latency,
                    "throughput_per_s": BATCH / batch_time,
                    "calls": calls,
                    "batch_calls": batch_calls,
                }
            )
        sizes = {v: info["tflite"][v]["bytes"] for v in info["tflite"]}
        parity = info["parity"]["results"]

    print(
        f"decoder: latent_dim={model.latent_dim}, output {tuple(info['output']['shape'][1:])}, "
        f"{decoder.count_params():,d} parameters; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )
    print(
        f"medians over up to {args.repeats} single-sample and {args.batch_repeats} "
        f"batch-of-{BATCH} calls per runtime (after {args.warmup} warm-up calls; "
        f"at most ~{args.budget:g} s each)\n"
    )
    print(
        f"| {'runtime':<28} | {'1-sample latency':>16} | {f'batch-{BATCH} samples/s':>19} "
        f"| {'calls (1 / batch)':>17} |"
    )
    print(f"|{'-' * 30}|{'-' * 17}:|{'-' * 20}:|{'-' * 18}:|")
    for row in rows:
        calls = f"{row['calls']} / {row['batch_calls']}"
        print(
            f"| {row['runtime']:<28} | {row['latency_s'] * 1e6:>13.1f} us "
            f"| {row['throughput_per_s']:>19,.0f} | {calls:>17} |"
        )
    print()
    for variant, size in sizes.items():
        key = f"tflite.{variant}"
        print(
            f"{TFLITE_FILES[variant]:<24} {size:>10,d} bytes   parity max |diff| "
            f"{parity[key]['max_abs_diff']:.2e} (p99 {parity[key]['p99_abs_diff']:.2e})"
        )
    keras_latency = rows[0]["latency_s"]
    tflite_latency = next(r for r in rows if r["runtime"].startswith("TFLite float32"))["latency_s"]
    ratio = keras_latency / tflite_latency
    verdict = "met" if ratio >= TARGET_SPEEDUP else "NOT met"
    print(
        f"\nKeras decoder(z) latency / TFLite float32 latency: {ratio:.1f}x "
        f"(target >= {TARGET_SPEEDUP:g}x: {verdict})"
    )
    return {"rows": rows, "ratio": ratio, "sizes": sizes}


def main(argv=None):
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
