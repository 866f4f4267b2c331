"""Resampling dead atoms: the sparse auto-encoder trainers' cure for unused latents.

In an overcomplete linear dictionary trained as a VAE, a latent whose atom
does not help yet is cheaper left at its prior (no KL) with its atom shrunk to
nothing, and from there no gradient brings it back: a dead atom. Dictionary
learning (K-SVD) and sparse auto-encoder trainers re-initialise such atoms
from the examples the model reconstructs worst, so they start where the
model's error is. ``ResampleDeadAtoms`` does that between epochs for a
``SparseVAE`` with a linear decoder:

- the dead latents are those ``evaluation.informative_latents`` does not
  count (KL within 0.1 nats of its floor, or a code that does not vary);
- each gets as its atom the residual x - reconstruction of one example drawn
  with probability proportional to its squared error, scaled to the mean
  norm of the living atoms (1 under ``unit_norm_decoder``);
- the encoder's output for its location is fitted by ridge regression from
  the encoder's last hidden layer to that residual's coefficient, so the
  latent is inferred where its atom helps; a learned prior scale is reset to
  its starting value.
"""

import keras
import numpy as np

from keras_svae import evaluation
from keras_svae.evaluation.checks import dataset_examples
from keras_svae.learned_prior import inverse_softplus
from keras_svae.posteriors import posterior_width
from keras_svae.validation import check_positive_int

# Training examples a run gives ResampleDeadAtoms to judge and draw from.
RESAMPLE_EXAMPLES = 4000


def training_sample(train, n, data_shape):
    """The first ``n`` examples of training data: an array, or a batched
    ``tf.data.Dataset`` of examples or (x, ...) tuples.

    Args:
        train: the training data.
        n: how many examples to keep.
        data_shape: the shape of one example.

    Returns:
        A numpy array [min(n, available), *data_shape].
    """
    if isinstance(train, np.ndarray):
        return train[:n]
    return dataset_examples(train.unbatch().take(n), tuple(data_shape))


class ResampleDeadAtoms(keras.callbacks.Callback):
    """Re-initialise a linear dictionary's dead atoms from badly reconstructed data.

    Args:
        x: training examples to judge and draw from, a numpy array (a few
            thousand are enough; they are reconstructed after each resampling
            epoch).
        every: resample after every ``every`` epochs.
        until: the last epoch (counted from 1) after which to resample (None:
            every such epoch); stop well before the end so revived atoms
            settle.
        ridge: the ridge penalty of the encoder's refit.
        seed: seeds the choice of examples, with the epoch: a run resumed
            from a checkpoint resamples as the uninterrupted run did.

    The number resampled is logged as ``dead_atoms`` at each resampling epoch
    (in the History and TensorBoard).

    Examples:
        >>> import numpy as np, keras_svae
        >>> x = np.random.default_rng(0).normal(size=(256, 16)).astype("float32")
        >>> model = keras_svae.SparseVAE(32, decoder="linear", encoder_units=(16,), seed=0)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(x, epochs=2, verbose=0, callbacks=[ResampleDeadAtoms(x)])
        >>> len(history.history["dead_atoms"])
        2
    """

    def __init__(self, x, every=1, until=None, ridge=0.1, seed=0):
        super().__init__()
        x = np.asarray(x, dtype=np.float32)
        if x.ndim < 2 or len(x) < 2 or not np.all(np.isfinite(x)):
            raise ValueError(
                "ResampleDeadAtoms needs a numpy array of at least 2 finite training examples "
                f"[n, *data_shape], got shape {x.shape}."
            )
        self.x = x
        self.every = check_positive_int(every, "every")
        self.until = None if until is None else check_positive_int(until, "until")
        self.ridge = float(ridge)
        self.seed = int(seed)

    def on_train_begin(self, logs=None):
        model = self.model
        if (
            getattr(model, "decoder_spec", None) != "linear"
            or model.encoder_spec != "mlp"
            or posterior_width(model.posterior_family) != 2
        ):
            raise ValueError(
                "ResampleDeadAtoms re-initialises the atoms of a linear decoder and the "
                "output layer of an MLP encoder; build the SparseVAE with decoder='linear' "
                "and encoder='mlp' and a location-scale posterior."
            )

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every or (self.until is not None and done > self.until):
            return
        dead = self.resample(epoch)
        if logs is not None:
            logs["dead_atoms"] = float(len(dead))

    def resample(self, epoch=0):
        """Resample the dead atoms now (choosing examples by ``(seed, epoch)``);
        returns their indices."""
        model, x = self.model, self.x
        alive = evaluation.informative_latents(model, x)
        dead = np.flatnonzero(~alive)
        if not len(dead):
            return dead
        flat = x.reshape(len(x), -1)
        residual = flat - np.asarray(model.reconstruct(x)).reshape(len(x), -1)
        error = np.sum(residual**2, axis=1)
        chosen = np.random.default_rng([self.seed, epoch]).choice(
            len(x), size=len(dead), replace=len(dead) > len(x), p=error / error.sum()
        )
        directions = residual[chosen] / np.linalg.norm(residual[chosen], axis=1, keepdims=True)
        dense = model.decoder.layers[0]  # the linear decoder's Dense: kernel [latents, pixels]
        kernel = dense.kernel.numpy()
        norms = np.linalg.norm(kernel, axis=1)
        target = 1.0 if model.unit_norm_decoder or not alive.any() else norms[alive].mean()
        kernel[dead] = target * directions
        dense.kernel.assign(kernel)
        self._refit_encoder(residual @ directions.T / target, dead)
        if model.learn_prior_scale == "per_latent":
            raw = model.raw_prior_scale.numpy()
            raw[dead] = inverse_softplus(model.prior_scale)
            model.raw_prior_scale.assign(raw)
        return dead

    def _refit_encoder(self, coefficients, dead):
        """Fit the encoder's location outputs of ``dead`` to ``coefficients``."""
        encoder = self.model.encoder
        hidden = self.x
        for layer in encoder.layers[:-1]:
            hidden = layer(hidden)
        hidden = np.asarray(hidden, dtype=np.float64)
        design = np.concatenate([hidden, np.ones((len(hidden), 1))], axis=1)
        gram = design.T @ design + self.ridge * np.eye(design.shape[1])
        solution = np.linalg.solve(gram, design.T @ coefficients)
        output = encoder.layers[-1]
        kernel, bias = output.kernel.numpy(), output.bias.numpy()
        kernel[:, dead] = solution[:-1]
        bias[dead] = solution[-1]
        output.kernel.assign(kernel)
        output.bias.assign(bias)
