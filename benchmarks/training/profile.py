"""Section 3 of the printout: where a training step's time goes."""

import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.training.baseline import DATA_DIM, BaselineVAE
from benchmarks.training.data import fixed_batch_dataset, make_dataset
from benchmarks.training.models import LAPLACE, build_model, train_flops_per_example
from benchmarks.training.timing import interleaved, table


def bench_profile(x, args, peak, say):
    """Where a step's time goes: XLA loops of whole steps on a fixed batch,
    then the same steps inside fit(), then with the input pipeline."""
    b, z, n = args.batch_size, args.latent_dim, args.profile_steps
    flops = train_flops_per_example(z) * b
    results = []

    # (a) the dense layers' matmuls alone: forward, then the weight gradients
    # and the input gradients (none for the first layer), as one XLA loop.
    dims = [(DATA_DIM, 512), (512, 256), (256, 2 * z), (z, 256), (256, 512), (512, DATA_DIM)]
    weights = [tf.random.normal(d, stddev=0.05, seed=i) for i, d in enumerate(dims)]
    x0 = tf.random.uniform([b, DATA_DIM], seed=7)

    @tf.function(jit_compile=True)
    def matmuls_only(steps):
        def body(i, acc):
            h, inputs = x0 + tf.cast(i, tf.float32) * 1e-6, []
            for j, w in enumerate(weights):
                if j == 3:
                    h = h[:, :z]
                inputs.append(h)
                h = tf.matmul(h, w)
            g = h
            for j in reversed(range(len(weights))):
                acc += tf.reduce_sum(tf.matmul(inputs[j], g, transpose_a=True))
                if j:
                    g = tf.matmul(g, weights[j], transpose_b=True)
                    if j == 3:
                        g = tf.pad(g, [[0, 0], [0, z]])
            return i + 1, acc

        return tf.while_loop(lambda i, _: i < steps, body, (0, 0.0))[1]

    # (b), (c): the baseline's whole step (sampling, BCE, KL, gradients) with
    # plain SGD, then with Adam + global-norm clipping; an XLA loop, no fit().
    batch = tf.constant(x[:b].astype(np.float32) / 255.0)

    def step_loop(model):
        model.optimizer.build(model.trainable_variables)

        @tf.function(jit_compile=True)
        def run(steps):
            def body(i):
                model.train_step(batch)
                return (i + 1,)

            return tf.while_loop(lambda i: i < steps, body, (0,))

        return run

    sgd = BaselineVAE(z, seed=args.seed)
    sgd.compile(optimizer=keras.optimizers.SGD(1e-3))
    adam = build_model(None, z, 1, True, args.steps_per_execution, args.seed)
    svae = build_model(LAPLACE, z, 1, True, args.steps_per_execution, args.seed)
    # (row, what it adds, row it adds to, function)
    loops = [
        ("1", "dense-layer matmuls only (forward + backward)", None, matmuls_only),
        ("2", "+ activations, sampling, BCE, KL; plain SGD update", "1", step_loop(sgd)),
        ("3", "+ Adam with global-norm clipping (the baseline's step)", "2", step_loop(adam)),
        ("4", "SparseVAE laplace's step instead (TFP, closed-form KL)", "3", step_loop(svae)),
    ]
    seconds = {row: [] for row, *_ in loops}
    for _, _, _, fn in loops:
        fn(tf.constant(2))  # compile
    for _ in range(args.profile_rounds):
        for row, _, _, fn in loops:
            start = time.perf_counter()
            out = fn(tf.constant(n))
            tf.nest.map_structure(lambda t: t.numpy(), out)
            seconds[row].append((time.perf_counter() - start) / n)
    for row, name, base, _ in loops:
        results.append((row, name, base, min(seconds[row])))

    # The same steps inside fit(), on a fixed batch, then on the pipeline.
    steps = args.ablation_steps
    fixed = fixed_batch_dataset(x, b, steps)
    piped = make_dataset(x, b, args.seed).take(steps)
    spe = args.steps_per_execution
    fits = [
        (
            "5",
            f"3 in Keras' fit() (one XLA call per step, steps_per_execution={spe}), fixed batch",
            "3",
            adam,
            fixed,
        ),
        (
            "6",
            f"4 in SparseVAE's fit() (fused: {spe} steps per XLA call), fixed batch",
            "4",
            svae,
            fixed,
        ),
        ("7", "5 + input pipeline (the baseline in section 1)", "5", adam, piped),
        ("8", "6 + input pipeline (SparseVAE in section 1)", "6", svae, piped),
    ]
    fit_seconds = interleaved(
        [(row, model, data) for row, _, _, model, data in fits], args.profile_rounds
    )
    for row, name, base, _, _ in fits:
        results.append((row, name, base, min(fit_seconds[row]) / steps))
    by_row = {row: t for row, _, _, t in results}
    rows = []
    for row, name, base, t in results:
        rows.append(
            [
                f"{row}. {name}",
                f"{t * 1e3:.2f}",
                f"{(t - by_row[base]) * 1e3:+.2f} vs {base}" if base else "",
                f"{b / t:,.0f}",
                f"{100 * flops / t / 1e9 / peak:.0f}%",
            ]
        )
    say(
        table(rows, ["step contents (best of rounds)", "ms/step", "added", "examples/s", "of peak"])
    )
