"""Rerun the paper's experiments and write a report with verdicts on its claims.

python -m training.reproduce --out runs/paper                    # both presets, 3 seeds
python -m training.reproduce --out runs/quick --quick            # reduced grid, < 10 min
python -m training.reproduce --out runs/paper --preset library   # one preset
python -m training.reproduce --out runs/paper --preset author    # the notebooks' quirks
python -m training.reproduce --out runs/paper-length --preset paper,author --seeds 1 --paper-length

Rerun the same command after an interruption: finished runs are kept and the
interrupted one continues from its last epoch. The logic is keras_svae.reproduce.
"""

import argparse
import sys
import time
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "configs"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m training.reproduce", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", default="runs/paper", help="output folder (report.md goes here)")
    parser.add_argument(
        "--preset",
        default="both",
        help="paper, library, author, or several joined by commas (both: paper,library); "
        "author is the paper plus its notebooks' quirks",
    )
    parser.add_argument(
        "--paper-length",
        action="store_true",
        help="train the paper and author presets for the paper's epochs (each experiment "
        "file's paper_epochs: 100, 75 for MNIST with 2 latents)",
    )
    parser.add_argument(
        "--experiments",
        default=None,
        help="comma-separated experiment files to run (default all), e.g. mnist-z10,mnist-z2",
    )
    parser.add_argument(
        "--publish",
        default=None,
        help="also copy the report and its figures here, e.g. docs/paper-report.md",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one seed, few epochs, data subsets, small evaluation"
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="number of seeds (default 3; 1 quick), or one per preset, e.g. "
        "paper=1,author=1,library=3",
    )
    parser.add_argument(
        "--data-dir",
        default=str(SHARED) if SHARED.is_dir() else None,
        help="folder with mnist/ (IDX) and cifar10/ (binary batches); default "
        "../shared/data when present, else tensorflow_datasets",
    )
    parser.add_argument("--configs", default=str(CONFIGS), help="folder of experiment files")
    parser.add_argument(
        "--verbose",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="Keras progress per run (2: one line per epoch)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    from keras_svae import quiet  # noqa: F401  (TensorFlow's start-up lines obey the log level)
    from keras_svae.reproduce import (
        grid_runs,
        load_experiments,
        parse_presets,
        parse_seeds,
        publish_report,
        run_grid,
        select_experiments,
        write_report,
    )

    try:
        presets = parse_presets(args.preset)
        seeds = parse_seeds(args.seeds, presets, default=1 if args.quick else 3)
        experiments = select_experiments(load_experiments(args.configs), args.experiments)
        runs = grid_runs(
            experiments,
            args.out,
            presets,
            seeds,
            args.quick,
            args.data_dir,
            paper_length=args.paper_length,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{p} {len(s)} seeds" for p, s in seeds.items())
    print(
        f"reproduce: {len(runs)} runs ({counts}; "
        f"{'quick' if args.quick else 'paper length' if args.paper_length else 'full'}) "
        f"-> {args.out}/report.md",
        flush=True,
    )
    start = time.perf_counter()
    run_grid(
        runs, args.out, verbose=args.verbose, say=lambda s: print(s, flush=True), quick=args.quick
    )
    command = "python -m training.reproduce " + " ".join(argv if argv is not None else sys.argv[1:])
    path, claims = write_report(
        runs,
        args.out,
        seeds,
        presets,
        command=command,
        wall_seconds=time.perf_counter() - start,
        quick=args.quick,
        paper_length=args.paper_length,
    )
    for preset in presets:
        print(f"{preset}: " + ", ".join(f"{c.number} {c.verdict}" for c in claims[preset]))
    print(f"report: {path} ({(time.perf_counter() - start) / 60:.1f} min)")
    if args.publish:
        size = publish_report(path, args.publish)
        print(f"published: {args.publish} (figures {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
