"""Beyond the paper: nine prior/posterior pairings and FISTA sparse coding, compared.

python -m training.beyond --out runs/beyond                        # 3 seeds, about 65 min
python -m training.beyond --out runs/beyond-quick --quick          # 1 seed, under 5 min
python -m training.beyond --out runs/beyond --publish docs/beyond-report.md

Rerun the same command after an interruption: finished runs are kept and the
interrupted one continues from its last epoch. The logic is
keras_svae.reproduce.beyond.
"""

import argparse
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATASETS = ("bsds", "cifar", "synthetic")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m training.beyond", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", default="runs/beyond", help="output folder (report.md goes here)")
    parser.add_argument(
        "--quick", action="store_true", help="one seed, few epochs, data subsets, small evaluation"
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (default 3; 1 quick)"
    )
    parser.add_argument(
        "--data-dir",
        default=str(SHARED) if SHARED.is_dir() else None,
        help="folder with bsds300/train (photographs) and cifar10/ (binary batches); "
        "default ../shared/data when present",
    )
    parser.add_argument(
        "--data",
        default=",".join(DATASETS),
        help=f"comma-separated data sets (default all: {','.join(DATASETS)})",
    )
    parser.add_argument("--publish", default=None, help="also copy the report and its figures here")
    parser.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras progress")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    from keras_svae import quiet  # noqa: F401  (TensorFlow's start-up lines obey the log level)
    from keras_svae.reproduce import publish_report
    from keras_svae.reproduce.beyond import comparison_runs, run_comparison
    from keras_svae.reproduce.beyond_report import write_report

    seeds = tuple(range(args.seeds or (1 if args.quick else 3)))
    datasets = tuple(d.strip() for d in args.data.split(",") if d.strip())
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown or not datasets or (args.seeds is not None and args.seeds < 1):
        what = f"--data {unknown[0]!r} (choices: {', '.join(DATASETS)})" if unknown else "--seeds"
        print(f"error: bad {what}", file=sys.stderr)
        return 2
    try:
        runs = comparison_runs(args.out, seeds, args.quick, args.data_dir, datasets)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"beyond: {len(runs)} runs ({', '.join(datasets)}; seeds {list(seeds)}; "
          f"{'quick' if args.quick else 'full'}) -> {args.out}/report.md", flush=True)  # fmt: skip
    start = time.perf_counter()
    run_comparison(runs, verbose=args.verbose, say=lambda s: print(s, flush=True), quick=args.quick)
    command = "python -m training.beyond " + " ".join(argv if argv is not None else sys.argv[1:])
    path = write_report(runs, args.out, seeds, command, time.perf_counter() - start, args.quick)
    print(f"report: {path} ({(time.perf_counter() - start) / 60:.1f} min)")
    if args.publish:
        size = publish_report(path, args.publish)
        print(f"published: {args.publish} (figures {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
