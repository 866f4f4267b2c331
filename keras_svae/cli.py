"""The command lines' logic: ``keras-svae-train``, ``keras-svae-export`` and
``keras-svae-generate`` (also ``python -m training.train``, ``python -m export``
and ``python -m export.generate`` in a checkout).

Each ``*_main(argv=None)`` parses its arguments, calls the library and returns
the process's exit code: 0 on success, 2 for bad input (a one-line message,
no traceback). TensorFlow is imported inside the functions that need it.
"""

import argparse
import sys
import time

from keras_svae.cli_types import (
    DefaultsHelpFormatter,
    in_flags,
    pair_argument,
    positive_int_argument,
    seed_argument,
    threshold_argument,
)

# ------------------------------------------------------------------ training
# The flags that are ExperimentConfig fields of the same name.
CONFIG_FLAGS = (
    "data", "data_dir", "posterior", "prior_df", "slab_probability", "prior_scale", "threshold",
    "threshold_prior", "objective", "latent_dim", "epochs", "batch_size", "learning_rate",
    "n_samples", "beta", "likelihood_scale", "kl", "kl_warmup_epochs", "decoder", "seed",
    "steps_per_execution", "checkpoint_steps", "iwae_k", "n_eval",
)  # fmt: skip


def train_parser():
    from keras_svae.experiment import DATASETS, ExperimentConfig
    from keras_svae.names import (
        KL_MODES,
        OBJECTIVES,
        PAPER_PRIORS,
        POSTERIORS,
        PRIORS,
        STRATEGIES,
    )

    defaults = ExperimentConfig()  # the per-data-set defaults are in DATASET_DEFAULTS
    parser = argparse.ArgumentParser(
        formatter_class=DefaultsHelpFormatter,
        prog="keras-svae-train",
        description="Train sparse VAE variants; write each one's model, metrics, figures and "
        "TensorBoard logs under --out, and print a table comparing them.",
    )
    parser.add_argument(
        "--prior",
        default="all",
        type=str.lower,
        choices=("all", *PRIORS),
        help="prior to train; 'all' trains the paper's " + ", ".join(PAPER_PRIORS),
    )
    parser.add_argument(
        "--posterior",
        default=None,
        type=str.lower,
        choices=POSTERIORS,
        help="posterior family (default: each prior's natural pairing)",
    )
    parser.add_argument(
        "--prior-df",
        type=float,
        default=None,
        help="degrees of freedom of the student_t prior (default 3; 1 is the Cauchy)",
    )
    parser.add_argument(
        "--slab-probability",
        type=float,
        default=None,
        help="the spike_slab prior's probability that a latent is non-zero (default 0.5)",
    )
    parser.add_argument(
        "--prior-scale",
        type=float,
        default=None,
        help="scale of the prior (the slab's for spike_slab, the global one for horseshoe; "
        "default 1)",
    )
    parser.add_argument(
        "--threshold",
        type=threshold_argument,
        default=None,
        help="exact zeros: a number >= 0 or 'learned' (normal and laplace posteriors)",
    )
    parser.add_argument(
        "--threshold-prior",
        type=pair_argument,
        default=None,
        metavar="CONCENTRATION,RATE",
        help="Gamma prior of learned thresholds (default 2,20: mean 0.1)",
    )
    parser.add_argument(
        "--objective",
        default=defaults.objective,
        type=str.lower,
        choices=OBJECTIVES,
        help="training objective; iwae uses --n-samples importance samples",
    )
    parser.add_argument(
        "--data", default=defaults.data, type=str.lower, choices=DATASETS, help="data set"
    )
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
        help="default: the data set's (synthetic/mnist 10, cifar 25, bsds 169, toy 2)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="default: the data set's")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="examples per step (default: the data set's)"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=None, help="Adam's (default: the data set's)"
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=defaults.n_samples,
        help="latent draws per example in each training step",
    )
    parser.add_argument(
        "--likelihood-scale",
        type=float,
        default=None,
        help="the Gaussian likelihood's noise scale, fixed (default: the data set's: synthetic "
        "its noise std 0.1, cifar 0.5, bsds 0.4; mnist and toy have a Bernoulli likelihood)",
    )
    parser.add_argument("--beta", type=float, default=defaults.beta, help="KL weight")
    parser.add_argument(
        "--kl", default=defaults.kl, type=str.lower, choices=KL_MODES, help="how the KL is computed"
    )
    parser.add_argument(
        "--kl-warmup-epochs",
        type=int,
        default=None,
        help="ramp the KL weight from 0 to --beta over this many epochs (default: the data "
        "set's, 3 for cifar, else 0)",
    )
    parser.add_argument(
        "--decoder",
        default=None,
        type=str.lower,
        choices=("linear", "mlp"),
        help="default: linear for patches, mlp for images (conv needs image-shaped data, "
        "which only the Python API gives; the command-line pipelines give flat vectors)",
    )
    parser.add_argument("--seed", type=seed_argument, default=defaults.seed, help="all randomness")
    parser.add_argument(
        "--jit",
        default=None,
        choices=("on", "off"),
        help="XLA-compile the training step (default: the data set's, on for mnist and bsds)",
    )
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=defaults.steps_per_execution,
        help="training steps per compiled call",
    )
    parser.add_argument(
        "--iwae-k",
        type=int,
        default=None,
        help="importance samples per test example for the log-likelihood bound "
        "(default: the data set's)",
    )
    parser.add_argument(
        "--n-eval",
        type=int,
        default=None,
        help="test examples the log-likelihood bound is computed on (default: the data set's)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="Keras' progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    parser.add_argument(
        "--checkpoint-steps",
        type=positive_int_argument,
        default=None,
        help="also checkpoint every N training steps (default: after each epoch); a run "
        "restored from a mid-epoch checkpoint repeats that epoch from its start",
    )
    parser.add_argument(
        "--strategy",
        default="none",
        type=str.lower,
        choices=STRATEGIES,
        help="tf.distribute strategy: mirrored (this machine's GPUs) or multi-worker "
        "(the cluster in TF_CONFIG); --batch-size is the global batch",
    )
    parser.add_argument("--out", default="runs", help="output folder")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run of other settings (once the new one is complete)",
    )
    return parser


def train_configs(args):
    """The `ExperimentConfig` of each prior ``keras-svae-train`` trains, from its parsed flags."""
    from keras_svae.experiment import ExperimentConfig
    from keras_svae.names import PAPER_PRIORS

    return [
        ExperimentConfig(
            prior=prior,
            final_learning_rate=args.learning_rate,  # a constant rate when given
            jit_compile=None if args.jit is None else args.jit == "on",
            **{field: getattr(args, field) for field in CONFIG_FLAGS},
        )
        for prior in (PAPER_PRIORS if args.prior == "all" else (args.prior,))
    ]


def train_main(argv=None):
    """``keras-svae-train`` / ``python -m training.train``: returns the exit code."""
    args = train_parser().parse_args(argv)
    from keras_svae.experiment import comparison_table, run_variant
    from keras_svae.experiment.records import check_not_replacing, finished_metrics

    results = []
    try:
        configs = train_configs(args)
        from keras_svae.distribute import make_strategy
        from keras_svae.experiment.workers import trains_here, worker_folder
        from keras_svae.files import check_output_folder

        check_output_folder(args.out, "--out")  # before any data is read or trained
        for config in configs if not args.overwrite else ():  # before any variant trains
            if finished_metrics(config, args.out) is None:
                check_not_replacing(config, args.out)
        strategy = make_strategy(args.strategy)  # before any other TensorFlow work
        out = worker_folder(strategy, args.out)
        print(
            f"keras-svae-train: {', '.join(c.prior for c in configs)} on {args.data}, "
            f"{configs[0].epochs} epochs each -> {args.out}/",
            flush=True,
        )
        for config in configs:
            if not trains_here(strategy, config, args.out, out):
                print(f"{config.name}: finished by the first worker, kept", flush=True)
                continue
            start = time.perf_counter()
            results.append(
                run_variant(
                    config, out, verbose=args.verbose, strategy=strategy, overwrite=args.overwrite
                )
            )
            seconds = time.perf_counter() - start
            print(f"{config.name}: done in {seconds:.0f} s, wrote {out}/{config.name}/", flush=True)
    except (ValueError, OSError, FloatingPointError) as error:
        message = in_flags(error, args, {"path": "data_dir", "out_dir": "out"})
        print(f"keras-svae-train: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-svae-train: interrupted; rerun the same command to continue.", file=sys.stderr)
        return 130
    if results:  # none on a worker whose chief had every run finished
        print(comparison_table(results))
    return 0


# -------------------------------------------------------------------- export
def export_parser():
    from keras_svae.export.layout import PARITY_SAMPLES, PARITY_SEED, QUANTIZATIONS

    parser = argparse.ArgumentParser(
        formatter_class=DefaultsHelpFormatter,
        prog="keras-svae-export",
        description="Export a SparseVAE's decoder: SavedModel, TFLite files and export.json.",
    )
    parser.add_argument("--model", required=True, help="the SparseVAE's .keras file")
    parser.add_argument("--out", required=True, help="output folder (must not exist)")
    parser.add_argument(
        "--quantize",
        nargs="+",
        action="extend",
        default=[],
        choices=QUANTIZATIONS,
        help="also write decoder_<kind>.tflite (repeatable: float16, dynamic)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output folder"
    )
    parser.add_argument(
        "--parity-samples",
        type=int,
        default=PARITY_SAMPLES,
        help="prior draws for the parity check",
    )
    parser.add_argument(
        "--parity-seed", type=seed_argument, default=PARITY_SEED, help="seed of those draws"
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    return parser


def export_main(argv=None):
    """``keras-svae-export`` / ``python -m export``: returns the exit code."""
    args = export_parser().parse_args(argv)
    from keras_svae.export import ExportError, export_decoder

    def say(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    try:
        info = export_decoder(
            args.model, args.out, quantize=args.quantize, overwrite=args.overwrite,
            parity_samples=args.parity_samples, parity_seed=args.parity_seed, progress=say,
        )  # fmt: skip
    except ExportError as error:
        print(f"export: error: {in_flags(error, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("export: interrupted; nothing was written.", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"wrote {args.out}/")
        for row in info["files"]:
            print(f"  {row['bytes']:>10,d}  {row['path']}")
        for entry in info["tflite"].values():
            if entry.get("note"):
                print(f"note: {entry['path']} is {entry['note']}")
        print(f"parity on {info['parity']['n_latents']} prior draws (|diff| to the Keras decoder):")
        for name, result in info["parity"]["results"].items():
            checked = result["checked"]
            print(f"  {name:<22} max |diff| {result['max_abs_diff']:.3g} "
                  f"(p99 {result['p99_abs_diff']:.3g}); {checked} "
                  f"{result[checked]:.3g} <= {result['bound']:g}")  # fmt: skip
    return 0


# ------------------------------------------------------------------ generate
def generate_parser():
    from keras_svae.export.layout import VARIANTS

    parser = argparse.ArgumentParser(
        formatter_class=DefaultsHelpFormatter,
        prog="keras-svae-generate",
        description="Draw samples from an exported decoder with LiteRT (no TensorFlow).",
    )
    parser.add_argument("folder", help="export folder written by keras-svae-export")
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--seed", type=seed_argument, default=0, help="random seed")
    parser.add_argument(
        "--out",
        default="grid.png",
        help="a .png file (the samples as a grid of images) or a .npy file (the samples "
        "as an array [n, *data shape])",
    )
    parser.add_argument(
        "--variant",
        default="float32",
        choices=VARIANTS,
        help="which TFLite file",
    )
    parser.add_argument(
        "--npz", default=None, help="also save the images and latents to this .npz file"
    )
    parser.add_argument(
        "--threads", type=positive_int_argument, default=None, help="LiteRT CPU threads"
    )
    return parser


def generate_main(argv=None):
    """``keras-svae-generate`` / ``python -m export.generate``: returns the exit
    code. Needs numpy and ai_edge_litert only (no TensorFlow)."""
    args = generate_parser().parse_args(argv)
    import numpy as np

    from keras_svae.export.generator import (
        GenerateError,
        Generator,
        check_output_file,
        write_samples,
    )
    from keras_svae.files import atomic_path

    try:
        if args.n < 1:
            raise GenerateError(f"--n must be >= 1, got {args.n}.")
        # Checked before anything is drawn or written.
        out = check_output_file(args.out, "--out", (".png", ".npy"))
        if args.npz:
            check_output_file(args.npz, "--npz")
        generator = Generator(args.folder, args.variant, args.threads)
        images, z = generator.generate(args.n, args.seed)
        write_samples(out, images, generator.output_shape, generator.value_range)
        if args.npz:
            with atomic_path(args.npz) as temporary, open(temporary, "wb") as f:
                np.savez(f, images=images, z=z)
    except (GenerateError, OSError) as error:
        print(f"generate: error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {out} ({args.n} samples, seed {args.seed}, {generator.path.name}, "
        f"{generator.prior['family']} prior)"
    )
    return 0
