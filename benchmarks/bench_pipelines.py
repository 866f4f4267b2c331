"""Are the input pipelines fast enough? Batches/s of each pipeline vs SparseVAE training steps/s.

A pipeline that delivers batches more slowly than ``model.fit`` consumes them
leaves the accelerator idle. For each pipeline (MNIST IDX, CIFAR-10 12x12
patches, BSDS300 patches, toy, synthetic) this script measures

- the pipeline alone: batches/s when iterating the dataset from Python (an
  underestimate: ``fit`` consumes it in-graph, without the Python loop);
- training alone: steps/s of ``SparseVAE.fit`` on one batch cached in memory,
  so no input pipeline is involved;

and prints their ratio, which must be at least ``--min-ratio`` (default 5).
Each rate is the best of ``--repeats`` timings, since other load on the
machine can only slow a timing down.

    python benchmarks/bench_pipelines.py                       # all pipelines
    python benchmarks/bench_pipelines.py --pipelines mnist,toy --batches 500 --steps 200

Real data are read from ``--data-dir`` (default ``../shared/data`` next to the
repository). Exit status 1 when a ratio is below the minimum.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere without installing

from keras_svae.data.cifar import load_cifar10_patches  # noqa: E402
from keras_svae.data.images import load_image_patches  # noqa: E402
from keras_svae.data.mnist import load_mnist  # noqa: E402
from keras_svae.data.pipeline import make_dataset  # noqa: E402
from keras_svae.data.toy import load_toy  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"


@dataclasses.dataclass
class Pipeline:
    """How to build one pipeline and the model that trains on it."""

    name: str
    build: Callable[[Path, int], tf.data.Dataset]  # (data_dir, batch_size) -> dataset
    model: dict  # SparseVAE keyword arguments


def _synthetic(data_dir: Path, batch_size: int) -> tf.data.Dataset:
    from keras_svae.data.synthetic import synthetic_patches

    return make_dataset(synthetic_patches(n=20000, seed=0).x, batch_size=batch_size, seed=0)


PIPELINES = {
    p.name: p
    for p in [
        Pipeline(
            "mnist_idx",
            lambda d, b: load_mnist(d / "mnist", batch_size=b, binarize="dynamic")[0],
            dict(latent_dim=32, likelihood="bernoulli"),
        ),
        Pipeline(
            "cifar_patches_12x12",
            lambda d, b: load_cifar10_patches(d / "cifar10", patch_size=12, batch_size=b)[0],
            dict(latent_dim=64, likelihood="gaussian", decoder="linear"),
        ),
        Pipeline(
            "bsds_patches_12x12_zca",
            lambda d, b: load_image_patches(
                d / "bsds300" / "train",
                max_images=50,
                patch_size=12,
                patches_per_image=200,
                whiten="zca",
                batch_size=b,
            )[0],
            dict(latent_dim=64, likelihood="gaussian", decoder="linear"),
        ),
        Pipeline(
            "toy_10x10",
            lambda d, b: load_toy(10000, batch_size=b)[0],
            dict(latent_dim=2, likelihood="bernoulli"),
        ),
        Pipeline(
            "synthetic_5x5",
            _synthetic,
            dict(latent_dim=10, likelihood="gaussian", decoder="linear"),
        ),
    ]
}


def pipeline_rate(ds: tf.data.Dataset, batches: int, repeats: int = 3, warmup: int = 2) -> float:
    """Batches/s of iterating ``ds`` (repeated as needed), after ``warmup`` batches.

    The best of ``repeats`` timings: other load on the machine only slows a run down.
    """
    it = iter(ds.repeat())
    for _ in range(warmup):
        next(it)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        best = max(best, batches / (time.perf_counter() - start))
    return best


def training_rate(
    ds: tf.data.Dataset, model_kwargs: dict, steps: int, repeats: int = 3, warmup: int = 2
) -> float:
    """Steps/s of ``SparseVAE.fit`` on one batch of ``ds`` held in memory (no pipeline cost).

    The best of ``repeats`` timed ``fit`` calls, as for `pipeline_rate`.
    """
    import keras

    from keras_svae import SparseVAE

    batch = next(iter(ds))
    x = batch[0] if isinstance(batch, tuple) else batch
    cached = tf.data.Dataset.from_tensors(x).repeat()
    keras.utils.set_random_seed(0)
    model = SparseVAE(prior="laplace", seed=0, **model_kwargs)
    model.compile(optimizer="adam")
    model.fit(cached, epochs=1, steps_per_epoch=warmup, verbose=0)  # trace and compile
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(cached, epochs=1, steps_per_epoch=steps, verbose=0)
        best = max(best, steps / (time.perf_counter() - start))
    return best


def run(
    names,
    *,
    data_dir: Path,
    batch_size: int,
    batches: int,
    steps: int,
    train: bool,
    repeats: int = 3,
) -> list[dict]:
    results = []
    for name in names:
        p = PIPELINES[name]
        start = time.perf_counter()
        ds = p.build(data_dir, batch_size)
        setup_s = time.perf_counter() - start
        pipe = pipeline_rate(ds, batches, repeats)
        step = training_rate(ds, p.model, steps, repeats) if train else None
        results.append(
            dict(
                name=name,
                setup_s=setup_s,
                pipeline=pipe,
                training=step,
                ratio=None if step is None else pipe / step,
            )
        )

        def fmt(v, spec):
            return "-" if v is None else format(v, spec)

        print(
            f"{name:<24} setup {setup_s:6.2f} s  pipeline {pipe:9.1f} batches/s  "
            f"training {fmt(step, '8.1f')} steps/s  ratio {fmt(results[-1]['ratio'], '7.1f')}x",
            flush=True,
        )
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pipelines",
        default=",".join(PIPELINES),
        help=f"comma-separated subset of {list(PIPELINES)}",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=500, help="pipeline batches per timing")
    parser.add_argument("--steps", type=int, default=100, help="training steps per timing")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings per measurement; the best counts"
    )
    parser.add_argument("--no-train", action="store_true", help="time the pipelines only")
    parser.add_argument("--min-ratio", type=float, default=5.0)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.pipelines.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PIPELINES))
    if unknown:
        parser.error(f"unknown pipelines {unknown}; choose from {list(PIPELINES)}")

    print(
        f"batch size {args.batch_size}; "
        f"{tf.config.threading.get_inter_op_parallelism_threads() or 'auto'} "
        f"inter-op threads; devices: {[d.device_type for d in tf.config.list_logical_devices()]}"
    )
    results = run(
        names,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        batches=args.batches,
        steps=args.steps,
        train=not args.no_train,
        repeats=args.repeats,
    )
    slow = [r["name"] for r in results if r["ratio"] is not None and r["ratio"] < args.min_ratio]
    if slow:
        print(f"FAIL: pipelines slower than {args.min_ratio}x the training rate: {', '.join(slow)}")
        return 1
    if not args.no_train:
        print(f"OK: every pipeline is at least {args.min_ratio}x faster than training consumes it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
