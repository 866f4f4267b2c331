"""Olshausen-Field sparse coding: the baseline every sparse VAE is set against.

A linear dictionary D (one unit-norm column per atom) explains each example x
by the MAP code of a Laplace prior under Gaussian noise,

    z(x) = argmin_z 0.5 ||x - D z||^2 + l1 ||z||_1,

found by FISTA (Beck and Teboulle 2009): fixed iterations of a gradient step on
the squared error, the soft-threshold, and Nesterov momentum, inside a
``tf.while_loop`` so a compiled ``train_step`` runs it. Each step then moves D
down the squared error at those codes and renormalises its columns: without
the unit norm, D could grow and the codes shrink until the L1 penalty meant
nothing. The objective is scikit-learn's ``sparse_encode(..., algorithm=
"lasso_cd", alpha=l1)`` with dictionary ``D.T``.

``SparseCoding`` has what the evaluation and figures read from a SparseVAE:
``latent_dim``, ``data_shape``, ``encode(x).mode()`` (the codes),
``decode(z)`` and ``reconstruct(x)``, so ``latent_patterns`` returns the
dictionary's atoms and ``basis_recovery`` scores them.
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_svae.thresholds import soft_threshold
from keras_svae.validation import check_epoch_steps, check_number, check_positive_int

tfd = tfp.distributions


def fista(x, dictionary, l1, n_iter):
    """MAP codes argmin_z 0.5 ||x - z D^T||^2 + l1 ||z||_1 for each row of x.

    Args:
        x: [batch, n_features] examples.
        dictionary: [n_features, n_atoms], D.
        l1: the L1 penalty (>= 0).
        n_iter: FISTA iterations (a Python int or scalar tensor).

    Returns:
        [batch, n_atoms] codes, with exact zeros.
    """
    x = tf.convert_to_tensor(x)
    dictionary = tf.convert_to_tensor(dictionary, x.dtype)
    gram = tf.matmul(dictionary, dictionary, transpose_a=True)
    # The gradient's Lipschitz constant, the largest eigenvalue of D^T D.
    lipschitz = tf.maximum(tf.reduce_max(tf.linalg.eigvalsh(gram)), 1e-12)
    correlation = tf.matmul(x, dictionary)  # x D, reused every step
    step = 1.0 / lipschitz
    shrink = tf.cast(l1, x.dtype) * step
    zeros = tf.zeros([tf.shape(x)[0], tf.shape(dictionary)[1]], x.dtype)

    def body(i, z, y, t):
        gradient = tf.matmul(y, gram) - correlation
        z_next = soft_threshold(y - step * gradient, shrink)
        t_next = 0.5 * (1.0 + tf.sqrt(1.0 + 4.0 * t * t))
        y_next = z_next + ((t - 1.0) / t_next) * (z_next - z)
        return i + 1, z_next, y_next, t_next

    _, z, _, _ = tf.while_loop(
        lambda i, *_: i < n_iter,
        body,
        (tf.constant(0), zeros, zeros, tf.constant(1.0, x.dtype)),
    )
    return z


@keras.saving.register_keras_serializable(package="keras_svae")
class SparseCoding(keras.Model):
    """Olshausen-Field sparse coding with FISTA codes, as a Keras model.

    Args:
        n_atoms: number of dictionary atoms (the code size, ``latent_dim``).
        l1: the L1 penalty on the codes (>= 0).
        n_iter: FISTA iterations per code.
        data_shape: shape of one example; inferred from the first batch if None.
        seed: seeds the dictionary's random unit-norm start.
        **kwargs: ``keras.Model`` keyword arguments (``name``, ``dtype``).

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(32, 16)).astype("float32")
        >>> model = SparseCoding(n_atoms=10, l1=0.1, n_iter=20, seed=0)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(x, epochs=1, batch_size=16, verbose=0)
        >>> model.encode(x).mode().shape
        TensorShape([32, 10])
    """

    def __init__(self, n_atoms, l1=0.1, n_iter=100, data_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.n_atoms = check_positive_int(n_atoms, "n_atoms")
        self.l1 = check_number(l1, "l1", minimum=0.0)
        self.n_iter = check_positive_int(n_iter, "n_iter")
        self.seed = None if seed is None else int(seed)
        self.data_shape = None
        self.dictionary = None
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.nonzero_tracker = keras.metrics.Mean(name="nonzero")
        if data_shape is not None:
            self.build((None, *data_shape))

    @property
    def latent_dim(self):
        """The code size (the number of atoms), named as on a SparseVAE."""
        return self.n_atoms

    def build(self, input_shape):
        data_shape = tuple(int(d) for d in input_shape[1:])
        if self.data_shape is not None:
            if data_shape != self.data_shape:
                raise ValueError(
                    f"Input examples have shape {data_shape}, but this model was built for "
                    f"examples of shape {self.data_shape}."
                )
            return
        if not data_shape or any(d < 1 for d in data_shape):
            raise ValueError(f"Each example needs a known shape, got {data_shape}.")
        self.data_shape = data_shape
        n_features = math.prod(data_shape)
        start = np.random.default_rng(self.seed).normal(size=(n_features, self.n_atoms))
        start /= np.linalg.norm(start, axis=0, keepdims=True)
        self.dictionary = self.add_weight(
            shape=(n_features, self.n_atoms),
            initializer=keras.initializers.Constant(start.astype(np.float32)),
            name="dictionary",
        )
        self.built = True

    def get_build_config(self):
        return {"input_shape": (None, *self.data_shape)} if self.data_shape else None

    def _check_built(self, what):
        if self.dictionary is None:
            raise ValueError(
                f"This SparseCoding is not built yet, so it cannot {what}: pass data_shape= "
                "or fit it first."
            )

    # ------------------------------------------------------------ inference
    def _flat(self, x):
        x = tf.cast(tf.convert_to_tensor(x), self.compute_dtype)
        if tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(
                f"Input examples have shape {tuple(x.shape[1:])}, but this model was built "
                f"for examples of shape {self.data_shape}."
            )
        return tf.reshape(x, [-1, math.prod(self.data_shape)])

    def infer(self, x):
        """The FISTA codes [batch, n_atoms] of examples x (exact zeros included)."""
        if not self.built:
            self.build(np.shape(x))
        return fista(self._flat(x), self.dictionary, self.l1, self.n_iter)

    def encode(self, x):
        """The codes of x as a point-mass distribution (event [n_atoms]), so code
        written for a SparseVAE's posterior (``.mode()``, ``.sample()``) gets them."""
        codes = self.infer(x)
        return tfd.Independent(tfd.Deterministic(codes), reinterpreted_batch_ndims=1)

    def decode(self, z):
        """D z for codes z [n, n_atoms], shaped like the data."""
        self._check_built("decode")
        z = tf.cast(tf.convert_to_tensor(z), self.compute_dtype)
        if z.shape.rank != 2 or z.shape[-1] != self.n_atoms:
            raise ValueError(f"z must have shape (n, {self.n_atoms}), got {tuple(z.shape)}.")
        x = tf.matmul(z, self.dictionary, transpose_b=True)
        return tf.reshape(x, [-1, *self.data_shape])

    def reconstruct(self, x):
        """decode(infer(x)): the data each code explains."""
        return self.decode(self.infer(x))

    def call(self, x, training=False):
        return self.reconstruct(x)

    @property
    def atoms(self):
        """The dictionary's atoms as numpy [n_atoms, *data_shape] (unit norm)."""
        self._check_built("show its atoms")
        return np.asarray(self.dictionary).T.reshape(self.n_atoms, *self.data_shape)

    # ------------------------------------------------------------- training
    def _terms(self, x):
        """Per-example squared error at the codes, the L1 term, and the codes."""
        flat = self._flat(x)
        codes = tf.stop_gradient(fista(flat, self.dictionary, self.l1, self.n_iter))
        residual = flat - tf.matmul(codes, self.dictionary, transpose_b=True)
        squared = 0.5 * tf.reduce_sum(tf.square(residual), axis=-1)
        penalty = self.l1 * tf.reduce_sum(tf.abs(codes), axis=-1)
        return squared, penalty, codes

    def _update_metrics(self, squared, penalty, codes):
        self.loss_tracker.update_state(squared + penalty)
        self.reconstruction_tracker.update_state(squared)
        nonzero = tf.reduce_mean(tf.cast(tf.not_equal(codes, 0.0), self.compute_dtype), -1)
        self.nonzero_tracker.update_state(nonzero)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            squared, penalty, codes = self._terms(x)
            loss = tf.reduce_mean(squared)
        gradients = tape.gradient(loss, [self.dictionary])
        self.optimizer.apply(gradients, [self.dictionary])
        # Unit-norm atoms after every update (Olshausen and Field).
        norms = tf.norm(self.dictionary, axis=0, keepdims=True)
        self.dictionary.assign(self.dictionary / tf.maximum(norms, 1e-12))
        return self._update_metrics(squared, penalty, codes)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update_metrics(*self._terms(x))

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.nonzero_tracker]

    def compile(self, optimizer=None, **kwargs):
        """Compile; the default optimizer is Adam(1e-2) on the dictionary."""
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=1e-2)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Recompile a loaded model with its saved optimizer (Keras skips models
        that override ``compile`` unless this is overridden too)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` on examples x alone (an array or a batched dataset)."""
        if y is not None:
            raise ValueError(
                "SparseCoding learns from x alone and takes no labels (y). Drop y; for a "
                "tf.data dataset of (x, label) pairs, pass dataset.map(lambda x, label: x)."
            )
        if kwargs.get("sample_weight") is not None or kwargs.get("class_weight") is not None:
            raise ValueError(
                "SparseCoding weighs every example equally: sample_weight and class_weight "
                "are not supported. Repeat or subsample examples instead."
            )
        check_epoch_steps(kwargs.get("steps_per_epoch"), getattr(self, "steps_per_execution", 1))
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a pipeline shuffles itself
        if not self.built:
            if isinstance(x, tf.data.Dataset):
                spec = x.element_spec
                spec = spec[0] if isinstance(spec, (tuple, list)) else spec
                self.build(tuple(spec.shape))
            else:
                self.build(np.shape(x))
        return super().fit(x, **kwargs)

    # --------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            n_atoms=self.n_atoms,
            l1=self.l1,
            n_iter=self.n_iter,
            data_shape=list(self.data_shape) if self.data_shape else None,
            seed=self.seed,
        )
        return config
