"""Data going into a model is checked before Keras sees it.

``fit``, ``evaluate`` and ``encode`` take arrays, tensors or batched
``tf.data`` pipelines; each is checked (finite, of the model's shape, in the
likelihood's support, arguments a model cannot honour refused) so that bad
data fail with a message naming the fix instead of training to NaN or failing
deep inside a step. A model not built yet is built from the first data's
shape, in the scope of the strategy it was created under.
"""

import numpy as np
import tensorflow as tf

from keras_svae import distribute, validation
from keras_svae.data.pipeline import make_dataset


class CheckedInputs:
    """Mixin for a ``keras.Model`` with ``likelihood``, ``data_shape``,
    ``build``, ``_check_built``, ``check_noise_batches`` and
    ``noise_callbacks`` (``keras_svae.quirks``): checked ``fit``, ``evaluate`` and inputs."""

    def _as_input(self, x):
        """A float tensor of examples for encode/reconstruct, checked like
        training data (shape, finite values, the likelihood's support)."""
        if isinstance(x, tf.data.Dataset):
            raise ValueError(
                "encode() takes an array or tensor of examples, not a tf.data.Dataset. "
                "Iterate the dataset and encode each batch."
            )
        if tf.is_tensor(x) and not tf.executing_eagerly():
            return tf.cast(x, self.compute_dtype)  # symbolic: checked by its producer
        x = self.likelihood.check_array(np.asarray(x))
        self._build_for(x)
        self._check_built("encode data")
        validation.check_example_shape(x.shape[1:], self.data_shape)
        return tf.convert_to_tensor(x, dtype=self.compute_dtype)

    def _build_for(self, data):
        """Build from the shape of the first data seen (array or dataset), in
        the model's strategy scope when it was created in one."""
        shape = validation.batch_shape(data)
        if not self.built and shape is not None:
            with distribute.strategy_scope(self):
                self.build(shape)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds a model from a first batch reduced over the replicas,
        which MultiWorkerMirroredStrategy cannot do for (x, y, sample_weight)
        tuples; a SparseVAE is built from its data's shape before ``fit``, so
        only the optimizer is left to build, in the strategy's scope."""
        if self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def _run(self, method, x, y, kwargs, seeded_order=False):
        validation.check_fit_arguments(x, y, kwargs)
        if isinstance(x, tf.data.Dataset):  # before a model is built for a wrong shape
            validation.check_batched(x, self.data_shape)
        self._build_for(x)
        x, target, weights = validation.checked_data(
            x, kwargs.pop("sample_weight", None), self.likelihood, self.data_shape
        )
        arrays = not isinstance(x, tf.data.Dataset)
        if (
            seeded_order
            and arrays
            and self.seed is not None
            and kwargs.get("shuffle", True) is True
        ):
            x, target, weights = self._seeded_batches(x, weights, kwargs), None, None
        try:
            result = method(x, target, sample_weight=weights, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            converted = validation.data_error(error)
            if converted is None:
                raise
            raise converted from None
        return result

    def _seeded_batches(self, x, weights, kwargs):
        """Checked arrays as a dataset whose order in each epoch is a function
        of the model's seed: Keras shuffles arrays with an unseeded generator,
        so the same seed would give another run. ``validation_split`` takes
        the last examples, as Keras does."""
        split = kwargs.pop("validation_split", None) or 0.0
        if split and kwargs.get("validation_data") is None:
            cut = int(np.floor(len(x) * (1.0 - split))) if 0 < split < 1 else 0
            if not 0 < cut < len(x):
                raise ValueError(
                    f"validation_split={split!r} leaves no training or no validation examples "
                    f"of {len(x)}: pass a fraction between 0 and 1 that leaves some of each."
                )
            held_out = x[cut:] if weights is None else (x[cut:], None, weights[cut:])
            kwargs["validation_data"] = validation.checked_validation_data(
                held_out, self.likelihood, self.data_shape
            )
            x, weights = x[:cut], None if weights is None else weights[:cut]
        batches = make_dataset(x, weights, batch_size=kwargs.pop("batch_size", None) or 32,
                               seed=self.seed)  # fmt: skip
        if weights is not None:  # (x, placeholder target, weights), see checked_arrays
            batches = batches.map(lambda x, w: (x, tf.zeros_like(w), w))
        if kwargs.get("steps_per_epoch"):  # epochs that do not end with the data's passes
            batches = batches.repeat()
        kwargs["shuffle"] = False
        return batches

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """``keras.Model.fit`` on examples x (an array or a batched
        ``tf.data.Dataset``), after checking them: finite, of the model's
        shape, in the likelihood's support. ``sample_weight`` (arrays) weighs
        each example's reconstruction and KL. Arguments a SparseVAE cannot
        honour (y, class_weight, non-positive sizes) raise a ValueError.
        A model with a ``seed`` takes arrays (``shuffle=True``, the default)
        in an order drawn from that seed, new each epoch: the same seed gives
        the same run (Keras' own shuffle of arrays is unseeded). A model with
        a noise matrix (noise="fixed", "epoch", "quasi") refuses batches of
        another size than the matrix; with noise="epoch" ``fit`` adds the
        callback that redraws it each epoch (``quirks.RedrawNoise``)."""
        if isinstance(x, tf.data.Dataset):
            # A pipeline shuffles itself; Keras' default shuffle=True would
            # only warn that it ignores it on every fit.
            kwargs.setdefault("shuffle", False)
        validation.check_epoch_steps(
            kwargs.get("steps_per_epoch"), getattr(self, "steps_per_execution", 1)
        )
        self.check_noise_batches(x, kwargs.get("batch_size"))  # a noise matrix (quirks)
        kwargs["callbacks"] = [*self.noise_callbacks(), *(kwargs.get("callbacks") or [])]
        kwargs["validation_data"] = validation.checked_validation_data(
            validation_data, self.likelihood, self.data_shape
        )
        history = self._run(super().fit, x, y, kwargs, seeded_order=True)
        # A run restored (BackupAndRestore) after its last epoch trains none.
        restored_at_end = (getattr(self, "_initial_epoch", None) or 0) >= kwargs.get("epochs", 1)
        if kwargs.get("epochs", 1) and not history.history and not restored_at_end:
            raise ValueError("The data yielded no batches, so nothing was trained.")
        return history

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` after the same checks as ``fit``; the
        numbers are per-example means over all of x (weighted by
        ``sample_weight``)."""
        if kwargs.get("_use_cached_eval_dataset"):
            # fit's own validation, on the validation_data fit checked: weighted
            # arrays arrive as (x, placeholder target), which is no label.
            return super().evaluate(x, y, **kwargs)
        return self._run(super().evaluate, x, y, kwargs)
