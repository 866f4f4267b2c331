"""Train sparse VAE variants and write their models, metrics and figures.

    python -m training.train                      # the three variants on synthetic patches
    python -m training.train --prior cauchy --epochs 50 --out runs/
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from keras_svae.distributions import PRIORS
from keras_svae.experiment import (
    DATASETS,
    ExperimentConfig,
    comparison_table,
    run_variant,
)


def parse_args(argv=None):
    defaults = ExperimentConfig()  # the per-data-set defaults are in DATASET_DEFAULTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prior", default="all", choices=("all", *PRIORS),
                        help="prior to train; 'all' trains normal, laplace and cauchy")
    parser.add_argument("--data", default=defaults.data, choices=DATASETS)
    parser.add_argument("--data-dir", default=None,
                        help="folder with the data set's files (mnist: IDX files, cifar: "
                        "CIFAR-10 binary batches, bsds: photographs); mnist and cifar "
                        "use tensorflow_datasets without it")
    parser.add_argument("--latent-dim", type=int, default=None,
                        help="default: the paper's (synthetic/mnist 10, cifar/bsds 25, toy 2)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--n-samples", type=int, default=defaults.n_samples)
    parser.add_argument("--beta", type=float, default=defaults.beta)
    parser.add_argument("--kl", default=defaults.kl, choices=("auto", "analytic", "sampled"))
    parser.add_argument("--decoder", default=None, choices=("linear", "mlp", "conv"))
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--jit", default=None, choices=("on", "off"),
                        help="XLA-compile the training step (default: the data "
                             "set's, on for mnist)")
    parser.add_argument("--steps-per-execution", type=int,
                        default=defaults.steps_per_execution,
                        help="training steps per compiled call (default: %(default)s)")
    parser.add_argument("--out", default="runs", help="output folder (default: runs)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    priors = PRIORS if args.prior == "all" else (args.prior,)
    results = []
    for prior in priors:
        try:
            config = ExperimentConfig(
                data=args.data, data_dir=args.data_dir, prior=prior,
                latent_dim=args.latent_dim, epochs=args.epochs,
                batch_size=args.batch_size, n_samples=args.n_samples, beta=args.beta,
                kl=args.kl, decoder=args.decoder, seed=args.seed,
                jit_compile=None if args.jit is None else args.jit == "on",
                steps_per_execution=args.steps_per_execution,
            )
            print(f"training {config.name} ...", flush=True)
            results.append(run_variant(config, args.out))
        except (ValueError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"  wrote {args.out}/{config.name}/", flush=True)
    print(comparison_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
