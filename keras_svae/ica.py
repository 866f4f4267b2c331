"""Independent component analysis: the other classical baseline for natural images.

ICA explains each example x as a linear mixture x = A s + mean of sources s
that are as independent (as non-Gaussian) as it can make them. On whitened
natural-image patches its basis functions, the columns of the mixing matrix A,
are localized, oriented, band-pass filters (Bell and Sejnowski 1997; van
Hateren and van der Schaaf 1998): the same result sparse coding is known for,
from a complete, noiseless and non-iterative model. scikit-learn's FastICA
fits it; ``ICA`` keeps its mixing and unmixing matrices as Keras weights.

``ICA`` has what the evaluation and figures read from a SparseVAE:
``latent_dim``, ``data_shape``, ``encode(x).mode()`` (the sources),
``decode(z)`` and ``reconstruct(x)``, so ``latent_patterns`` returns the
mixing matrix's columns and ``basis_recovery`` / ``analyze_dictionary``
score them. It saves and loads as any Keras model (``model.save``,
``keras.models.load_model``).
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from sklearn.decomposition import FastICA
from threadpoolctl import threadpool_limits

from keras_svae.arguments import check_latents, check_seed
from keras_svae.validation import check_number, check_positive_int

tfd = tfp.distributions

CONTRASTS = ("logcosh", "exp", "cube")


@keras.saving.register_keras_serializable(package="keras_svae")
class ICA(keras.Model):
    """FastICA as a model with the interface of a SparseVAE's codes and decodes.

    ``fit(x)`` runs scikit-learn's ``FastICA`` (its own unit-variance
    whitening first, so data that are only roughly white are fine) on
    examples ``x`` [n, *data_shape], each flattened to its n_features values;
    the codes are the unit-variance sources ``(x - mean) W^T`` and
    ``decode(s) = s A^T + mean``, shaped like the data.

    Args:
        n_components: number of sources (the code size, ``latent_dim``);
            None takes one per feature (complete ICA, 144 for 12x12 patches).
        seed: seeds FastICA's starting unmixing matrix: the same seed and data
            give the same dictionary.
        fun: FastICA's contrast function, one of ``CONTRASTS``.
        max_iter: FastICA's iteration limit (``converged`` says if it sufficed).
        tol: FastICA's tolerance on the change of the unmixing matrix.
        blas_threads: BLAS threads during the fit; None keeps the library's
            own setting. FastICA's iterations are small matrix products, and
            2 OpenBLAS threads on a 2-core machine shared with other jobs took
            46 times as long as 1 thread (2,000 BSDS patches, 144 components).
        data_shape: the shape of one example; ``fit`` sets it (and
            ``keras.models.load_model`` passes it to rebuild the weights).
        **kwargs: ``keras.Model`` keyword arguments (``name``, ``dtype``).

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).laplace(size=(500, 6)).astype("float32")
        >>> model = ICA(seed=0).fit(x)
        >>> model.encode(x).mode().shape
        TensorShape([500, 6])
    """

    def __init__(self, n_components=None, seed=None, fun="logcosh", max_iter=1000, tol=1e-4,
                 blas_threads=1, data_shape=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.n_components = None if n_components is None else check_positive_int(
            n_components, "n_components"
        )  # fmt: skip
        self.seed = check_seed(seed)
        if fun not in CONTRASTS:
            raise ValueError(f"fun must be one of {CONTRASTS}, got {fun!r}.")
        self.fun = fun
        self.max_iter = check_positive_int(max_iter, "max_iter")
        self.tol = check_number(tol, "tol", minimum=0.0)
        self.blas_threads = None if blas_threads is None else check_positive_int(
            blas_threads, "blas_threads"
        )  # fmt: skip
        self.data_shape = None
        self.n_iter = None  # FastICA's iterations in this process's fit
        if data_shape is not None:
            self.build((None, *data_shape))

    @property
    def latent_dim(self):
        """The code size (the number of sources), named as on a SparseVAE."""
        return self.n_components

    @property
    def converged(self):
        """Whether this process's ``fit`` stopped before ``max_iter`` (None
        for a model not fitted here, e.g. loaded from a file)."""
        return None if self.n_iter is None else self.n_iter < self.max_iter

    def build(self, input_shape):
        data_shape = tuple(int(d) for d in input_shape[1:])
        if not data_shape or any(d < 1 for d in data_shape):
            raise ValueError(f"Each example needs a known shape, got {data_shape}.")
        if self.data_shape is not None:
            if data_shape != self.data_shape:
                raise ValueError(
                    f"Input examples have shape {data_shape}, but this model was built for "
                    f"examples of shape {self.data_shape}."
                )
            return
        n_features = math.prod(data_shape)
        if self.n_components is None:
            self.n_components = n_features
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} is more than the {n_features} features of "
                f"the data: ICA has at most one source per feature. Pass n_components <= "
                f"{n_features} (None: {n_features}, complete ICA)."
            )
        self.data_shape = data_shape
        zeros = keras.initializers.Zeros()
        self.mixing = self.add_weight(shape=(n_features, self.n_components), initializer=zeros,
                                      trainable=False, name="mixing")  # fmt: skip
        self.unmixing = self.add_weight(shape=(self.n_components, n_features), initializer=zeros,
                                        trainable=False, name="unmixing")  # fmt: skip
        self.mean = self.add_weight(shape=(n_features,), initializer=zeros, trainable=False,
                                    name="mean")  # fmt: skip
        # 1 once fitted: saved with the weights, so a loaded model knows it too.
        self.fitted = self.add_weight(shape=(), initializer=zeros, trainable=False, name="fitted")
        self.built = True

    def get_build_config(self):
        return {"input_shape": (None, *self.data_shape)} if self.data_shape else None

    # ------------------------------------------------------------- fitting
    def fit(self, x):
        """Fit FastICA to examples ``x``.

        Args:
            x: numpy array [n_examples, *example_shape] of finite numbers,
                with at least ``n_components`` examples.

        Returns:
            This model, fitted.

        Raises:
            ValueError: x that is not a numeric array of examples (at least
                2-D), holds NaN or Inf,
                has fewer examples than components or fewer features than
                ``n_components``, or has other features than the model's.
        """
        x = self._checked(x)
        self.build(x.shape)
        if len(x) < self.n_components:
            raise ValueError(
                f"x holds {len(x)} examples, fewer than the {self.n_components} components: "
                f"FastICA would drop components silently. Pass at least {self.n_components} "
                "examples (many more for a good fit) or fewer n_components."
            )
        flat = x.reshape(len(x), -1)
        ica = FastICA(n_components=self.n_components, whiten="unit-variance", fun=self.fun,
                      max_iter=self.max_iter, tol=self.tol, random_state=self.seed)  # fmt: skip
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            ica.fit(flat)
        self.mixing.assign(ica.mixing_.astype(np.float32))
        self.unmixing.assign(ica.components_.astype(np.float32))
        self.mean.assign(ica.mean_.astype(np.float32))
        self.fitted.assign(1.0)
        self.n_iter = int(ica.n_iter_)
        return self

    @staticmethod
    def _checked(x):
        """``x`` as a float64 array [n, ...], or a ValueError naming the problem."""
        try:
            array = np.asarray(x)
        except ValueError:  # numpy refuses ragged sequences
            raise ValueError("x must be one numeric array [examples, ...].") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise ValueError(f"x must be a numeric array [examples, ...], got {array.dtype}.")
        if array.ndim < 2:
            raise ValueError(
                f"ICA takes x of shape (examples, features), one example per row, got shape "
                f"{array.shape}: for examples of one value each, pass x.reshape(-1, 1)."
            )
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ValueError(
                f"x contains {bad} NaN or Inf values; ICA needs finite data. Drop those "
                "examples (x[np.isfinite(x).all(axis=1)])."
            )
        return array.astype(np.float64)

    def _check_fitted(self, what):
        if self.data_shape is None or float(self.fitted.numpy()) != 1.0:
            raise ValueError(f"This ICA is not fitted yet, so it cannot {what}: call fit(x) first.")

    # ----------------------------------------------------------- inference
    def infer(self, x):
        """The sources [batch, n_components] of examples x: (x - mean) W^T."""
        self._check_fitted("encode")
        x = tf.cast(tf.convert_to_tensor(x), self.compute_dtype)
        if tuple(x.shape[1:]) != self.data_shape:
            raise ValueError(
                f"Input examples have shape {tuple(x.shape[1:])}, but this model was fitted "
                f"to examples of shape {self.data_shape}."
            )
        flat = tf.reshape(x, [-1, math.prod(self.data_shape)])
        return tf.matmul(flat - self.mean, self.unmixing, transpose_b=True)

    def encode(self, x):
        """The sources of x as a point-mass distribution (event [n_components]),
        so code written for a SparseVAE's posterior (``.mode()``) gets them."""
        return tfd.Independent(tfd.Deterministic(self.infer(x)), reinterpreted_batch_ndims=1)

    def decode(self, z):
        """A z + mean for sources z [n, n_components], shaped like the data."""
        self._check_fitted("decode")
        z = tf.cast(tf.convert_to_tensor(check_latents(z, self.n_components)), self.compute_dtype)
        x = tf.matmul(z, self.mixing, transpose_b=True) + self.mean
        return tf.reshape(x, [-1, *self.data_shape])

    def reconstruct(self, x):
        """decode(infer(x)): exact up to round-off for a complete ICA of
        full-rank data; the projection on the components otherwise."""
        return self.decode(self.infer(x))

    def call(self, x, training=False):
        return self.reconstruct(x)

    @property
    def atoms(self):
        """The mixing matrix's columns as numpy [n_components, *data_shape]."""
        self._check_fitted("show its atoms")
        mixing = keras.ops.convert_to_numpy(self.mixing)
        return mixing.T.reshape(self.n_components, *self.data_shape)

    # -------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            n_components=self.n_components,
            seed=self.seed,
            fun=self.fun,
            max_iter=self.max_iter,
            tol=self.tol,
            blas_threads=self.blas_threads,
            data_shape=list(self.data_shape) if self.data_shape else None,
        )
        return config
