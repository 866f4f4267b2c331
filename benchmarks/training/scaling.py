"""Section 4 of the printout: time per epoch as the latent size, the latent
samples per input and the batch size vary."""

import keras

from benchmarks.training.data import make_dataset
from benchmarks.training.models import LAPLACE, build_model, train_flops_per_example
from benchmarks.training.timing import epoch_seconds, table

EPOCH_EXAMPLES = 60_000  # what "time per epoch" means in the scaling tables


def bench_scaling(x, args, say):
    """Time per 60,000-example epoch of SparseVAE (laplace, closed-form KL).

    The latent-size sweep also times the model without XLA, since XLA's CPU
    code is not faster at every size.
    """
    sweeps = (
        ("latent size", "latent_dim", args.scale_latents),
        ("latent samples per input", "n_samples", args.scale_samples),
        ("batch size", "batch_size", args.scale_batches),
    )
    other_jit = None
    if args.scale_compare_jit and isinstance(args.jit_compile, bool):
        other_jit = not args.jit_compile

    measured = {}  # the default configuration is in more than one sweep

    def seconds_per_epoch(cfg, jit_compile):
        key = (tuple(sorted(cfg.items())), jit_compile)
        if key not in measured:
            measured[key] = measure(cfg, jit_compile)
        return measured[key]

    def measure(cfg, jit_compile):
        steps = max(2, args.scale_examples // cfg["batch_size"])
        dataset = make_dataset(x, cfg["batch_size"], args.seed).take(steps)
        model = build_model(
            LAPLACE,
            cfg["latent_dim"],
            cfg["n_samples"],
            jit_compile,
            args.steps_per_execution,
            args.seed,
        )
        # One fit() call; its first epoch traces and compiles. The fastest
        # epoch: load from other processes only ever slows an epoch down.
        t = min(epoch_seconds(model, dataset, 1 + args.scale_repeats)[1:])
        del model
        keras.backend.clear_session(free_memory=True)
        return t * EPOCH_EXAMPLES / (steps * cfg["batch_size"])

    for title, key, values in sweeps:
        compare = key == "latent_dim" and other_jit is not None
        rows = []
        for value in values:
            cfg = dict(latent_dim=args.latent_dim, n_samples=1, batch_size=args.batch_size)
            cfg[key] = value
            t = seconds_per_epoch(cfg, args.jit_compile)
            rate = EPOCH_EXAMPLES / t
            flops = train_flops_per_example(cfg["latent_dim"], cfg["n_samples"])
            row = [
                value,
                f"{t:.2f}",
                f"{rate:,.0f}",
                f"{flops / 1e6:.2f}",
                f"{flops * rate / 1e9:.1f}",
            ]
            if compare:
                row.append(f"{seconds_per_epoch(cfg, other_jit):.2f}")
            rows.append(row)
        header = [key, "s/epoch", "examples/s", "MFLOP/ex", "GFLOP/s"]
        if compare:
            header.append(f"s/epoch jit_compile={other_jit}")
        say(f"by {title}:")
        say(table(rows, header))
        say()
