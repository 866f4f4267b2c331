"""Fused execution: ``steps_per_execution`` steps as one XLA computation.

Keras' TensorFlow trainer compiles each training step with XLA on its own and
loops over the steps of an execution outside XLA, so every step reads all the
weights and optimizer slots into the XLA computation and writes them back (on
the benchmark's MNIST MLP, 3.2 million floats a step). Here an execution first
takes its batches from the iterator (a graph function, no Python per step),
then runs all of them in one XLA ``while_loop`` whose state stays inside XLA.
The step function, the data it sees and their order are the same as Keras'.

Batches are stacked, so a run of batches of one shape goes through the fused
loop; a batch of another shape (an epoch's smaller last batch) is run by the
single-step XLA function after it. Keras' own path is used whenever the fused
one does not apply (see ``can_fuse``).
"""

import tensorflow as tf


def can_fuse(model):
    """True when fusing changes nothing but speed and was not turned off
    (``compile(fuse_steps=False)``): XLA on, more than one step per execution,
    graph mode and no distribution strategy."""
    return (
        getattr(model, "fuse_steps", True)
        and model.jit_compile is True
        and model.steps_per_execution > 1
        and not model.run_eagerly
        and not tf.distribute.has_strategy()
        and getattr(model, "_distribute_strategy", None) is None
    )


def _take_batches(steps):
    """Graph function: up to ``steps`` next elements of an iterator, each
    component concatenated along the batch axis, with the batch sizes."""

    @tf.function(reduce_retracing=True)
    def take(iterator):
        specs = tf.nest.flatten(iterator.element_spec)
        arrays = [
            tf.TensorArray(
                spec.dtype,
                size=0,
                dynamic_size=True,
                infer_shape=False,
                element_shape=tf.TensorShape([None]).concatenate(spec.shape[1:]),
            )
            for spec in specs
        ]
        sizes = tf.TensorArray(tf.int32, size=0, dynamic_size=True)

        def more(i, next_element, arrays, sizes):
            return tf.logical_and(i < steps, next_element.has_value())

        def store(i, next_element, arrays, sizes):
            flat = tf.nest.flatten(next_element.get_value())
            arrays = [a.write(i, t) for a, t in zip(arrays, flat, strict=True)]
            sizes = sizes.write(i, tf.shape(flat[0])[0])
            following = tf.cond(i + 1 < steps, iterator.get_next_as_optional, lambda: next_element)
            return i + 1, following, arrays, sizes

        count, _, arrays, sizes = tf.while_loop(
            more, store, (0, iterator.get_next_as_optional(), arrays, sizes)
        )
        return count, sizes.stack(), [a.concat() for a in arrays]

    return take


def _run_steps(step_function):
    """XLA function: ``step_function`` on the first ``count`` batches of a
    stacked run, in order; returns the last step's logs. The run always holds
    ``steps_per_execution`` batches (padded), so a shorter run (an epoch's
    last) does not compile another XLA program."""

    @tf.function(jit_compile=True, reduce_retracing=True)
    def run(batches, count):
        logs = step_function(tf.nest.map_structure(lambda t: t[0], batches))

        def body(i, logs):
            data = tf.nest.map_structure(lambda t: t[i], batches)
            return i + 1, step_function(data)

        return tf.while_loop(lambda i, _: i < count, body, (1, logs))[1]

    return run


def _pad_to(stacked, steps):
    """Pad stacked batches [n, batch, ...] with zeros to [steps, batch, ...]."""
    missing = steps - int(stacked.shape[0])
    if missing == 0:
        return stacked
    return tf.pad(stacked, [[0, missing]] + [[0, 0]] * (stacked.shape.rank - 1))


class FusedExecution:
    """Model mixin: Keras' train and test functions, or the fused ones when
    compiled with ``jit_compile=True`` and ``steps_per_execution > 1``."""

    def make_train_function(self, force=False):
        if can_fuse(self) and (force or self.train_function is None):
            self.train_function = make_fused_function(self, self.train_step)
            return self.train_function
        return super().make_train_function(force)

    def make_test_function(self, force=False):
        if can_fuse(self) and (force or self.test_function is None):
            self.test_function = make_fused_function(self, self.test_step)
            return self.test_function
        return super().make_test_function(force)


def make_fused_function(model, step_function):
    """A replacement for Keras' train (or test) function: ``f(iterator)``
    runs up to ``model.steps_per_execution`` steps and returns the last logs."""
    steps = model.steps_per_execution
    take = _take_batches(steps)
    run = _run_steps(step_function)
    one_step = tf.function(step_function, jit_compile=True, reduce_retracing=True)

    def function(iterator):  # Keras' TFEpochIterator passes a tf.data iterator
        count, sizes, flat = take(iterator)
        count = int(count)
        if count == 0:
            raise StopIteration
        structure = iterator.element_spec
        sizes = sizes.numpy().tolist()
        run_length = next((i for i, s in enumerate(sizes) if s != sizes[0]), count)
        if run_length == count:  # the usual case: one reshape, no copy
            stacked = [
                tf.reshape(t, tf.concat([[count, sizes[0]], tf.shape(t)[1:]], 0)) for t in flat
            ]
            rest = []
        else:
            pieces = [tf.split(t, sizes) for t in flat]
            stacked = [tf.stack(p[:run_length]) for p in pieces]
            rest = [[p[i] for p in pieces] for i in range(run_length, count)]
        batches = tf.nest.pack_sequence_as(structure, [_pad_to(t, steps) for t in stacked])
        logs = run(batches, tf.constant(run_length))
        for flat_batch in rest:  # batches of another shape, one by one
            logs = one_step(tf.nest.pack_sequence_as(structure, flat_batch))
        return logs

    return function
