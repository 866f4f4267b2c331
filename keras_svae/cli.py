"""The command lines' logic: ``keras-svae-train``, ``keras-svae-export`` and
``keras-svae-generate`` (also ``python -m training.train``, ``python -m export``
and ``python -m export.generate`` in a checkout).

Each ``*_main(argv=None)`` parses its arguments, calls the library and returns
the process's exit code: 0 on success, 2 for bad input (a one-line message,
no traceback). TensorFlow is imported inside the functions that need it.
"""

import argparse
import os
import sys
import time

# Keep TensorFlow's C++ start-up chatter out of the command lines' output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ------------------------------------------------------------------ training
def train_parser():
    from keras_svae.experiment import DATASETS, ExperimentConfig
    from keras_svae.names import KL_MODES, PRIORS

    defaults = ExperimentConfig()  # the per-data-set defaults are in DATASET_DEFAULTS
    parser = argparse.ArgumentParser(
        prog="keras-svae-train",
        description="Train sparse VAE variants; write each one's model, metrics, figures and "
        "TensorBoard logs under --out, and print a table comparing them.",
    )
    parser.add_argument(
        "--prior",
        default="all",
        type=str.lower,
        choices=("all", *PRIORS),
        help="prior to train; 'all' (default) trains " + ", ".join(PRIORS),
    )
    parser.add_argument("--data", default=defaults.data, type=str.lower, choices=DATASETS)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the data set's files (mnist: IDX files, cifar: CIFAR-10 "
        "binary batches, bsds: photographs); mnist and cifar use "
        "tensorflow_datasets without it",
    )
    parser.add_argument(
        "--latent-dim",
        type=int,
        default=None,
        help="default: the paper's (synthetic/mnist 10, cifar/bsds 25, toy 2)",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument(
        "--n-samples",
        type=int,
        default=defaults.n_samples,
        help="latent draws per example in each training step",
    )
    parser.add_argument("--beta", type=float, default=defaults.beta, help="KL weight")
    parser.add_argument("--kl", default=defaults.kl, type=str.lower, choices=KL_MODES)
    parser.add_argument(
        "--kl-warmup-epochs",
        type=int,
        default=0,
        help="ramp the KL weight from 0 to --beta over this many epochs",
    )
    parser.add_argument(
        "--decoder",
        default=None,
        type=str.lower,
        choices=("linear", "mlp"),
        help="default: linear for patches, mlp for images",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--jit",
        default=None,
        choices=("on", "off"),
        help="XLA-compile the training step (default: the data set's, on for mnist)",
    )
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=defaults.steps_per_execution,
        help="training steps per compiled call (default: %(default)s)",
    )
    parser.add_argument(
        "--iwae-k",
        type=int,
        default=None,
        help="importance samples per test example for the log-likelihood bound",
    )
    parser.add_argument(
        "--n-eval",
        type=int,
        default=None,
        help="test examples the log-likelihood bound is computed on",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="Keras' progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    parser.add_argument("--out", default="runs", help="output folder (default: runs)")
    return parser


def train_main(argv=None):
    """``keras-svae-train`` / ``python -m training.train``: returns the exit code."""
    args = train_parser().parse_args(argv)
    from keras_svae.experiment import ExperimentConfig, comparison_table, run_variant
    from keras_svae.names import PRIORS

    priors = PRIORS if args.prior == "all" else (args.prior,)
    results = []
    try:
        configs = [
            ExperimentConfig(
                data=args.data,
                data_dir=args.data_dir,
                prior=prior,
                latent_dim=args.latent_dim,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                final_learning_rate=args.learning_rate,
                n_samples=args.n_samples,
                beta=args.beta,
                kl=args.kl,
                kl_warmup_epochs=args.kl_warmup_epochs,
                decoder=args.decoder,
                seed=args.seed,
                jit_compile=None if args.jit is None else args.jit == "on",
                steps_per_execution=args.steps_per_execution,
                iwae_k=args.iwae_k,
                n_eval=args.n_eval,
            )
            for prior in priors
        ]
        print(
            f"keras-svae-train: {', '.join(priors)} on {args.data}, "
            f"{configs[0].epochs} epochs each -> {args.out}/",
            flush=True,
        )
        for config in configs:
            start = time.perf_counter()
            results.append(run_variant(config, args.out, verbose=args.verbose))
            print(
                f"{config.name}: done in {time.perf_counter() - start:.0f} s, wrote "
                f"{args.out}/{config.name}/",
                flush=True,
            )
    except (ValueError, OSError, FloatingPointError) as error:
        print(f"keras-svae-train: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-svae-train: interrupted; rerun the same command to continue.", file=sys.stderr)
        return 130
    print(comparison_table(results))
    return 0
