"""Natural images: an overcomplete sparse VAE dictionary against FISTA sparse coding.

python -m training.natural --out runs/natural                      # 1 seed, 169 and 288 latents
python -m training.natural --out runs/natural --seeds 3            # the report's 3 seeds
python -m training.natural --out runs/natural-quick --quick        # tiny, a few minutes
python -m training.natural --out runs/natural --publish docs/natural-report.md
python -m training.natural --out runs/natural --report-only        # the report of the finished runs

Rerun the same command after an interruption: finished runs are kept and the
interrupted one continues from its last epoch. The logic is
keras_svae.reproduce.natural.
"""

import argparse
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bsds300" / "train"


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m training.natural", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", default="runs/natural", help="output folder (report.md goes here)")
    parser.add_argument("--quick", action="store_true", help="tiny settings, for a first look")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    parser.add_argument(
        "--sizes", default="169,288", help="comma-separated numbers of latents (default 169,288)"
    )
    parser.add_argument(
        "--variants", default=None, help="comma-separated variant keys (default all)"
    )
    parser.add_argument(
        "--data-dir",
        default=str(SHARED) if SHARED.is_dir() else None,
        help="folder of BSDS300 training photographs; default ../shared/data/bsds300/train "
        "when present",
    )
    parser.add_argument("--publish", default=None, help="also copy the report and its figures here")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the report from the runs finished so far (the others "
        "are listed as not run yet)",
    )
    parser.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras progress")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    from keras_svae import quiet  # noqa: F401  (TensorFlow's start-up lines obey the log level)
    from keras_svae.reproduce import publish_report
    from keras_svae.reproduce.natural import VARIANTS, natural_runs, run_natural
    from keras_svae.reproduce.natural_report import write_report

    keys = [key for key, _, _ in VARIANTS]
    try:
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
        variants = None if args.variants is None else tuple(args.variants.split(","))
        unknown = [v for v in variants or () if v not in keys]
        if unknown:
            raise ValueError(f"--variants {unknown[0]!r} is not one of {', '.join(keys)}")
        if args.seeds < 1 or not sizes or min(sizes) < 1:
            raise ValueError("--seeds and --sizes need positive numbers")
        seeds = tuple(range(args.seeds))
        runs = natural_runs(args.out, seeds, args.quick, args.data_dir, sizes, variants)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"natural: {len(runs)} runs (sizes {list(sizes)}; seeds {list(seeds)}; "
          f"{'quick' if args.quick else 'full'}) -> {args.out}/report.md", flush=True)  # fmt: skip
    start = time.perf_counter()
    if not args.report_only:
        say = lambda s: print(s, flush=True)  # noqa: E731
        run_natural(runs, verbose=args.verbose, say=say, quick=args.quick)
    command = "python -m training.natural " + " ".join(argv if argv is not None else sys.argv[1:])
    path = write_report(runs, args.out, seeds, command, time.perf_counter() - start, args.quick)
    print(f"report: {path} ({(time.perf_counter() - start) / 60:.1f} min)")
    if args.publish:
        size = publish_report(path, args.publish)
        print(f"published: {args.publish} (figures {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
