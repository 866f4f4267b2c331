"""Section 2 of the printout: what each optimisation buys, cumulatively."""

import statistics

from benchmarks.training.data import make_dataset, make_elementwise_dataset
from benchmarks.training.models import LAPLACE, build_model
from benchmarks.training.timing import interleaved, table


def bench_optimisations(x, args, say):
    """Cumulative optimisations, for the baseline and SparseVAE (laplace)."""
    steps = args.ablation_steps
    element = make_elementwise_dataset(x, args.batch_size, args.seed).take(steps)
    gather = make_dataset(x, args.batch_size, args.seed).take(steps)
    spe = args.steps_per_execution
    configs = (  # label, jit_compile, steps_per_execution, fuse_steps, dataset
        (
            "Keras CPU defaults: jit_compile=auto (off), steps_per_execution=1, "
            "cache/shuffle/batch pipeline",
            False,
            1,
            False,
            element,
        ),
        (f"+ steps_per_execution={spe}", False, spe, False, element),
        ("+ jit_compile=True (XLA, one XLA call per step)", True, spe, False, element),
        (f"+ fused steps (SparseVAE only: {spe} steps per XLA call)", True, spe, True, element),
        ("+ vectorised pipeline (permuted index batches + gather)", True, spe, True, gather),
    )
    models = {}
    entries = []
    for label, jit, s, fuse, data in configs:
        for side, spec in (("baseline", None), ("SparseVAE", LAPLACE)):
            key = (side, jit, s, fuse and spec is not None)
            if key not in models:
                models[key] = build_model(
                    spec, args.latent_dim, 1, jit, s, args.seed, fuse_steps=fuse
                )
            if side == "baseline" and fuse and data is element:
                continue  # the baseline has no fused steps: same as the row above
            entries.append(((label, side), models[key], data))
    seconds = interleaved(entries, args.ablation_rounds)
    ex = steps * args.batch_size
    rows, previous = [], {}
    for label, *_ in configs:
        row = [label]
        for side in ("baseline", "SparseVAE"):
            if (label, side) not in seconds:
                row.append("(same as above)")
                continue
            rate = ex / statistics.median(seconds[(label, side)])
            gain = f" ({rate / previous[side]:.2f}x)" if side in previous else ""
            row.append(f"{rate:,.0f}{gain}")
            previous[side] = rate
        rows.append(row)
    say(table(rows, ["configuration (cumulative)", "baseline ex/s", "SparseVAE laplace ex/s"]))
