"""The benchmark's clocks and its printout: timed epochs, models taking turns,
the machine's matmul peak, peak memory, the CPU's name and plain-text tables."""

import platform
import resource
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


def matmul_gflops(sizes=(1024, 2048), repeats=8):
    """The machine's float32 matmul peak: the best GFLOP/s of an n x n matmul
    over ``sizes``, with TensorFlow's kernel and with XLA's, on all cores."""
    best = 0.0
    for n in sizes:
        a = tf.random.normal([n, n], seed=1)
        b = tf.random.normal([n, n], seed=2)
        for jit in (False, True):
            f = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)), jit_compile=jit)
            f(a, b).numpy()
            for _ in range(repeats):
                start = time.perf_counter()
                f(a, b).numpy()
                best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def epoch_seconds(model, dataset, epochs=1):
    """Seconds of each epoch of one fit() call over ``dataset`` (fit's own
    setup excluded); raises if the loss is not finite."""
    seconds, losses = [], []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)
            losses.append((logs or {}).get("loss"))

    model.fit(dataset, epochs=epochs, verbose=0, shuffle=False, callbacks=[Timer()])
    if not losses or losses[-1] is None or not np.isfinite(losses[-1]):
        raise RuntimeError(f"{model.name}: training loss is {losses[-1:]}")
    return seconds


def timed_fit(model, dataset):
    """Seconds of one fit() epoch over ``dataset``."""
    return epoch_seconds(model, dataset)[0]


def rotated(items, round_):
    """``items`` starting at a different one each round, so that no entry
    always runs first (or right after the same neighbour)."""
    k = round_ % len(items)
    return items[k:] + items[:k]


def interleaved(entries, rounds, warmup=1):
    """Seconds per pass for each (name, model, dataset), taking turns each round."""
    seconds = {name: [] for name, _, _ in entries}
    for round_ in range(warmup + rounds):
        for name, model, dataset in rotated(list(entries), round_):
            t = timed_fit(model, dataset)
            if round_ >= warmup:
                seconds[name].append(t)
    return seconds


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM where there is one: ru_maxrss would do in the parent, but a
    child started by subprocess inherits the parent's ru_maxrss across
    fork/exec, which VmHWM (per address space) does not.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(rows, header):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
