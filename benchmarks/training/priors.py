"""Section 1 of the printout: training throughput of every model in ``MODELS``."""

from benchmarks.training.data import make_dataset
from benchmarks.training.models import MODELS, build_model
from benchmarks.training.timing import rotated, timed_fit


def bench_priors(x, args, say):
    """Interleaved full epochs of every model in MODELS (rows in MODELS order)."""
    dataset = make_dataset(x, args.batch_size, args.seed)
    examples = (len(x) // args.batch_size) * args.batch_size
    models = [
        (
            label,
            build_model(
                spec, args.latent_dim, 1, args.jit_compile, args.steps_per_execution, args.seed
            ),
            dataset,
        )
        for label, spec in MODELS
    ]
    seconds = {label: [] for label, _ in MODELS}
    for round_ in range(1 + args.epochs):  # round 0 traces and compiles
        rates = {}
        for label, model, data in rotated(models, round_):
            t = timed_fit(model, data)
            rates[label] = f"{examples / t:,.0f}"
            if round_:
                seconds[label].append(t)
        say(
            f"  {'warm-up' if round_ == 0 else f'epoch {round_}'}: examples/s "
            + " | ".join(rates[label] for label, _ in MODELS)
        )
    return {label: [examples / t for t in ts] for label, ts in seconds.items()}
