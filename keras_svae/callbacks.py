"""Keras callbacks for sparse VAEs: TensorBoard summaries, a KL warm-up and a
warning at posterior collapse.

``keras.callbacks.TensorBoard`` already plots the three losses (tags
``epoch_loss``, ``epoch_reconstruction``, ``epoch_kl`` in its ``train`` and,
when ``fit`` gets ``validation_data``, ``validation`` runs).
``ImageSummaries`` adds what the paper's figures show,
per epoch: inputs beside their reconstructions, each latent's pattern and
samples from the prior; ``SparsitySummaries`` adds the sparsity numbers of
``keras_svae.evaluation`` as scalars and histograms. Neither draws from the
model's training seed, so logging does not change training. ``KLWarmUp`` ramps
the KL weight from 0 to ``beta``. ``WarnOnCollapse`` warns, in one line, when
the trained model ignores its latents.
"""

import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_svae import evaluation
from keras_svae.evaluation.checks import model_inputs
from keras_svae.plots import as_images


def _to_unit_range(images):
    """Scale each image to [0, 1] and give it a channel axis, for tf.summary.image."""
    images = np.asarray(images, dtype=np.float32)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    high = images.max(axis=axes, keepdims=True)
    images = (images - low) / np.maximum(high - low, 1e-12)
    return images[..., None] if images.ndim == 3 else images


class ImageSummaries(keras.callbacks.Callback):
    """Log reconstructions, latent patterns and prior samples as TensorBoard images.

    Args:
        log_dir: TensorBoard folder (images go to ``log_dir/images``).
        x: a few examples (numpy) to reconstruct each time.
        every: log every this many epochs.
        image_shape: how to show flat examples, e.g. (28, 28); square sizes are
            inferred.
        display: optional function mapping model-space arrays to images (e.g.
            ``info.undo_preprocessing`` for whitened patches).
        pattern_display: the same for patterns, which are differences of
            decodes (e.g. un-whitened without the whitening mean); default
            ``display``.
        sample_seed: the integer seed of the prior samples (the same draws
            each epoch, so the images show how the decoder changes).

    Example:
        >>> model.fit(x, epochs=10, callbacks=[keras.callbacks.TensorBoard("logs"),
        ...                                    ImageSummaries("logs", x[:8])])
    """

    def __init__(
        self,
        log_dir,
        x,
        every=1,
        image_shape=None,
        display=None,
        pattern_display=None,
        sample_seed=0,
    ):
        super().__init__()
        self.sample_seed = int(sample_seed)
        if int(every) < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}.")
        self.x = np.asarray(x, dtype=np.float32)
        if len(self.x) == 0:
            raise ValueError("ImageSummaries needs at least one example in x.")
        self.every = int(every)
        self.image_shape = image_shape
        self.display = display or (lambda a: a)
        self.pattern_display = pattern_display or self.display
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images"))

    def on_train_begin(self, logs=None):
        self._images(self.x)  # an image_shape that does not fit fails now, not after an epoch

    def _images(self, arrays, display=None):
        shown = (display or self.display)(np.asarray(arrays))
        return _to_unit_range(as_images(shown, self.image_shape))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        reconstructions = np.asarray(self.model.reconstruct(self.x))
        pairs = np.concatenate([self._images(self.x), self._images(reconstructions)], axis=2)
        patterns = self._images(evaluation.latent_patterns(self.model), self.pattern_display)
        # A fixed integer seed: stateless draws, the training seed is untouched.
        samples = self._images(self.model.sample(len(self.x), seed=self.sample_seed))
        with self.writer.as_default():
            tf.summary.image("reconstructions", pairs, step=epoch, max_outputs=len(pairs))
            tf.summary.image("patterns", patterns, step=epoch, max_outputs=len(patterns))
            tf.summary.image("prior_samples", samples, step=epoch, max_outputs=len(samples))
        self.writer.flush()


class SparsitySummaries(keras.callbacks.Callback):
    """Log how sparse the codes are, each epoch, as TensorBoard scalars and histograms.

    On the examples ``x`` (held-out data is best): scalars ``active_units``
    (latents that carry information: mean KL more than 0.1 nats above its
    floor and a code that varies, ``evaluation.active_latents``),
    ``collapsed_fraction`` (the other latents' share; only for a closed-form
    KL, whose floor is known, see ``evaluation.posterior_collapse``),
    ``hoyer`` (Hoyer sparsity of the informative latents' standardised
    posterior means, 0 dense to 1 one-hot; not logged with fewer than 2),
    ``explained_variance`` (1 - MSE / Var(x)) and ``kl_total``;
    histograms ``posterior_means`` (all code values) and ``kl_per_latent``, and
    one scalar per latent ``kl/z<k>``. Written under ``log_dir/sparsity``.

    Args:
        log_dir: TensorBoard folder.
        x: numpy examples to encode each time (a few thousand at most).
        every: log every this many epochs.
    """

    def __init__(self, log_dir, x, every=1):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}.")
        self.x = np.asarray(x, dtype=np.float32)
        if len(self.x) < 2:
            raise ValueError("SparsitySummaries needs at least 2 examples in x.")
        self.every = every
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "sparsity"))

    def on_train_begin(self, logs=None):
        self.floor = evaluation.kl_floor(self.model)  # fixed by the prior and posterior family

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        model, x = self.model, self.x
        means = evaluation.codes(model, x)
        kl = evaluation.kl_per_latent(model, x, per_example=True, seed=0)
        reconstructions = evaluation.batched(model.reconstruct, x)
        informative = evaluation.active_latents(
            means, kl=kl, floor=self.floor, scale=model.prior_scale
        )
        values = {
            "active_units": int(informative.sum()),
            "explained_variance": evaluation.explained_variance(x, reconstructions),
            "kl_total": float(kl.sum(axis=1).mean()),
        }
        if self.floor is not None:  # a closed-form KL
            values["collapsed_fraction"] = float(1.0 - np.mean(informative))
        if informative.sum() >= 2:
            values["hoyer"] = evaluation.hoyer_sparsity(means, informative)
        with self.writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(name, value, step=epoch)
            for k, value in enumerate(kl.mean(axis=0)):
                tf.summary.scalar(f"kl/z{k}", value, step=epoch)
            tf.summary.histogram("posterior_means", means, step=epoch)
            tf.summary.histogram("kl_per_latent", kl.mean(axis=0), step=epoch)
        self.writer.flush()


class KLWarmUp(keras.callbacks.Callback):
    """Ramp the KL weight linearly from 0 to the model's ``beta`` over the
    first ``epochs`` epochs (then hold it at ``beta``).

    Early in training the KL term can switch latents off before the decoder has
    learned what they could explain (posterior collapse); a warm-up lets the
    reconstruction term shape the code first. The ramp counts epochs (Keras'
    epoch number, so a run resumed by ``BackupAndRestore`` continues it where
    it was) and, where the epoch's length is known, the step within the epoch;
    on data of unknown length the weight rises once per epoch. Each epoch's
    weight is logged as ``kl_weight`` (a TensorBoard curve when this callback
    comes before ``keras.callbacks.TensorBoard``).

    Args:
        epochs: length of the ramp in epochs (> 0).
    """

    def __init__(self, epochs):
        super().__init__()
        if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or epochs <= 0:
            raise ValueError(f"KLWarmUp epochs must be a number > 0, got {epochs!r}.")
        self.epochs = float(epochs)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._ramp(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        steps_per_epoch = self.params.get("steps")
        if steps_per_epoch:
            self._ramp(self.epoch + batch / steps_per_epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["kl_weight"] = float(self.model.kl_weight.numpy())

    def on_train_end(self, logs=None):
        self.model.kl_weight.assign(self.model.beta)

    def _ramp(self, done_epochs):
        self.model.kl_weight.assign(self.model.beta * min(1.0, done_epochs / self.epochs))


class WarnOnCollapse(keras.callbacks.Callback):
    """Warn at the end of training when the model collapsed: when it explains
    less than a tenth of ``x``'s variance or its total KL on ``x`` is below 1
    nat (``evaluation.model_collapsed``).

    Such a model ignores its latents: its reconstructions are close to the
    mean example, whatever its loss curve looks like. The warning is one line,
    ``posterior collapse: <numbers> on the data given to WarnOnCollapse; ...``,
    with the settings that fix it (``evaluation.collapse_message``, the line
    ``experiment.run_variant`` prints too). It uses ``warnings.warn``
    (a ``UserWarning``), so ``warnings.simplefilter("error")`` turns it into an
    exception. The draws of a sampled KL use a fixed seed, so the check does not
    change the model's sampling state.

    Args:
        x: held-out examples (numpy), at least 2; a few thousand are plenty.
        seed: the integer seed of a sampled KL's draws.

    Raises:
        ValueError: for fewer than 2 examples; at the start of training, for
            examples that are not of the model's data shape.

    Example:
        >>> model.fit(x_train, epochs=10, callbacks=[WarnOnCollapse(x_test[:2000])])
    """

    def __init__(self, x, seed=0):
        super().__init__()
        self.x = np.asarray(x, dtype=np.float32)
        if self.x.ndim < 2 or len(self.x) < 2:
            raise ValueError(
                f"WarnOnCollapse needs at least 2 examples in x (an array [n, ...]), got "
                f"shape {self.x.shape}."
            )
        self.seed = int(seed)

    def on_train_begin(self, logs=None):
        # Examples of another shape fail now, not after the whole run has trained.
        self.x = model_inputs(self.model, self.x)

    def on_train_end(self, logs=None):
        model, x = self.model, self.x
        kl = evaluation.kl_per_latent(model, x, per_example=True, seed=self.seed)
        reconstructions = evaluation.batched(model.reconstruct, x)
        metrics = {
            "explained_variance": evaluation.explained_variance(x, reconstructions),
            "test_kl": float(kl.sum(axis=1).mean()),
        }
        message = evaluation.collapse_message(metrics, "the data given to WarnOnCollapse")
        if message is not None:
            warnings.warn(message, stacklevel=2)
