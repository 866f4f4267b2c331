"""Does the Cauchy SVAE train on MNIST without NaN or Inf? 3 seeds x 20 epochs.

A Cauchy posterior draws rare, enormous latents; under a Bernoulli likelihood
(dynamically binarised MNIST, the command line's protocol) each such draw is a
large loss and a large gradient. This trains the paper's Cauchy variant
(Cauchy prior and posterior, MLP 784-512-256-10 / 10-256-512-784, 20 epochs,
the command line's defaults otherwise) for each seed through the same code as
``keras-svae-train`` and prints, per seed, whether every epoch's training and
validation loss was finite, the last epoch's loss, and the IWAE bound.

    python -m benchmarks.bench_cauchy_stability --data-dir ../shared/data/mnist

Finished seeds are kept (rerun the same command to continue an interrupted
benchmark). Exit status 1 if any loss was not finite.
"""

import argparse
import math
import sys
import time

from keras_svae.experiment import ExperimentConfig, run_variant


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--out", default="runs/cauchy-stability")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--iwae-k", type=int, default=100)
    args = parser.parse_args(argv)
    rows, failed = [], False
    for seed in args.seeds:
        config = ExperimentConfig(
            data="mnist",
            data_dir=args.data_dir,
            prior="cauchy",
            epochs=args.epochs,
            seed=seed,
            iwae_k=args.iwae_k,
            n_eval=1000,
        )
        start = time.perf_counter()
        metrics = run_variant(config, f"{args.out}/seed{seed}", verbose=0)
        history = metrics["history"]
        finite = all(math.isfinite(v) for key in ("loss", "val_loss") for v in history[key])
        failed |= not finite
        rows.append(
            (seed, finite, history["loss"][-1], metrics["test_iwae"], time.perf_counter() - start)
        )
        print(
            f"seed {seed}: finite={finite} last loss {history['loss'][-1]:.2f} "
            f"IWAE {metrics['test_iwae']:.2f}",
            flush=True,
        )
    print(
        "\n| seed | epochs | every loss finite | last training loss "
        f"| test IWAE (k={args.iwae_k}) | s |"
    )
    print("|---|---|---|---|---|---|")
    for seed, finite, loss, iwae, seconds in rows:
        print(
            f"| {seed} | {args.epochs} | {'yes' if finite else 'NO'} | {loss:.2f} | {iwae:.2f} "
            f"| {seconds:.0f} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
