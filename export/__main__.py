"""Export a SparseVAE's decoder: SavedModel, TFLite files and export.json.

    python -m export --model runs/x/model.keras --out exported/x
    python -m export --model runs/x/model.keras --out exported/x --quantize float16 dynamic --overwrite
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_args(argv=None):
    from keras_svae.export import PARITY_SAMPLES, PARITY_SEED, QUANTIZATIONS

    parser = argparse.ArgumentParser(
        prog="python -m export", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", required=True, help="the SparseVAE's .keras file")
    parser.add_argument("--out", required=True, help="output folder (must not exist)")
    parser.add_argument(
        "--quantize", nargs="+", action="extend", default=[], choices=QUANTIZATIONS,
        help="also write decoder_<kind>.tflite (repeatable: float16, dynamic)",
    )
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output folder")
    parser.add_argument("--parity-samples", type=int, default=PARITY_SAMPLES,
                        help=f"prior draws for the parity check (default {PARITY_SAMPLES})")
    parser.add_argument("--parity-seed", type=int, default=PARITY_SEED)
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from keras_svae.export import ExportError, export_decoder

    def say(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    try:
        info = export_decoder(
            args.model, args.out, quantize=args.quantize, overwrite=args.overwrite,
            parity_samples=args.parity_samples, parity_seed=args.parity_seed,
            progress=say,
        )
    except ExportError as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("export: interrupted; nothing was written.", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"wrote {args.out}/")
        for row in info["files"]:
            print(f"  {row['bytes']:>10,d}  {row['path']}")
        for variant, entry in info["tflite"].items():
            if entry.get("note"):
                print(f"note: {entry['path']} is {entry['note']}")
        n = info["parity"]["n_latents"]
        print(f"parity on {n} prior draws (|diff| to the Keras decoder):")
        for name, result in info["parity"]["results"].items():
            checked = result["checked"]
            print(f"  {name:<22} max |diff| {result['max_abs_diff']:.3g} "
                  f"(p99 {result['p99_abs_diff']:.3g}); {checked} "
                  f"{result[checked]:.3g} <= {result['bound']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
