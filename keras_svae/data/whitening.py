"""PCA and ZCA whitening of flat data vectors (numpy, fitted on training data only).

Sparse coding of natural images works on whitened patches: whitening flattens
the 1/f power spectrum so the model spends its capacity on structure (edges)
rather than on the few low-frequency directions that carry most of the
variance. The whitening is a fitted preprocessing step, so it must be fitted on
the training data only and reused, unchanged, for test data. Figures and
exported decoders need to undo it, which is why the fitted state round-trips
through a plain JSON-serialisable dict (`get_config` / `from_config`).

Maths. With the training mean ``m`` and the covariance's eigen-decomposition
``C = U diag(l) U^T`` (eigenvalues sorted in decreasing order, the top ``k``
kept):

- PCA: ``y = (x - m) U_k diag(1 / sqrt(l_k + eps))`` (``k`` outputs),
- ZCA: ``y = (x - m) U_k diag(1 / sqrt(l_k + eps)) U_k^T`` (``d`` outputs; the
  whitened data stay in pixel space, so ZCA patches still look like images).

``eps`` regularises small eigenvalues: with ``eps`` much smaller than the kept
eigenvalues the training data come out with identity covariance; larger values
(e.g. 1e-2 to 1e-1 of the data's variance) keep whitening from amplifying
pixel noise. ``inverse_transform`` undoes the map exactly when all components
are kept; with ``n_components < d`` it returns the projection onto the kept
components.
"""

import numpy as np

from keras_svae.names import lookup
from keras_svae.validation import check_number, check_positive_int

METHODS = ("pca", "zca")


class Whitening:
    """PCA or ZCA whitening with optional PCA dimension reduction.

    Args:
        method: ``"pca"`` (outputs the ``n_components`` whitened principal
            components) or ``"zca"`` (outputs vectors of the input dimension);
            case-insensitive.
        n_components: number of principal components kept; ``None`` keeps all.
        epsilon: added to every eigenvalue before the inverse square root.

    Examples:
        >>> import json
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> train_patches, test_patches = rng.normal(size=(500, 9)), rng.normal(size=(5, 9))
        >>> w = Whitening("zca", epsilon=1e-3).fit(train_patches)
        >>> y = w.transform(test_patches)
        >>> bool(np.allclose(w.inverse_transform(y), test_patches))
        True
        >>> w2 = Whitening.from_config(json.loads(json.dumps(w.get_config())))
        >>> bool(np.allclose(w2.transform(test_patches), y))
        True
    """

    def __init__(self, method="zca", n_components=None, epsilon=1e-5):
        self.method = lookup(method, METHODS, "whitening method")
        self.n_components = (
            None if n_components is None else check_positive_int(n_components, "n_components")
        )
        self.epsilon = check_number(epsilon, "epsilon", minimum=0.0)
        self.mean_ = None  # (d,)
        self.eigenvalues_ = None  # (k,), decreasing
        self.components_ = None  # (k, d), rows are eigenvectors

    # ------------------------------------------------------------------ fitting
    @property
    def is_fitted(self):
        """Whether ``fit`` has run (or a fitted config was loaded)."""
        return self.components_ is not None

    @property
    def input_dim(self):
        """The dimension d of the vectors ``transform`` takes."""
        self._check_fitted()
        return int(self.components_.shape[1])

    @property
    def output_dim(self):
        """The dimension of the whitened vectors: ``n_components`` (PCA) or d (ZCA)."""
        self._check_fitted()
        return int(self.components_.shape[0]) if self.method == "pca" else self.input_dim

    def fit(self, x):
        """Fits the mean and the covariance's eigenvectors on training data.

        Args:
            x: training vectors, shape (n, d), n >= 2.

        Returns:
            self, fitted.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(
                f"Whitening.fit expects a 2-D array (examples, features), got shape {x.shape}. "
                "Flatten the examples first, e.g. x.reshape(len(x), -1)."
            )
        n, d = x.shape
        if n < 2:
            raise ValueError(
                f"Whitening.fit needs at least 2 examples to estimate a covariance, got {n}."
            )
        k = d if self.n_components is None else self.n_components
        if k > d:
            raise ValueError(
                f"n_components={k} exceeds the data dimension {d}. Pass n_components <= {d}, "
                "or None to keep all."
            )
        mean = x.mean(axis=0)
        centred = x - mean
        cov = centred.T @ centred / (n - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        order = np.argsort(eigenvalues)[::-1][:k]
        # Round-off leaves the zero eigenvalues of a singular covariance at about
        # +-max * d * machine epsilon: treat those as exactly zero.
        tol = max(float(eigenvalues.max()), 0.0) * d * np.finfo(np.float64).eps
        self.eigenvalues_ = np.where(eigenvalues[order] > tol, eigenvalues[order], 0.0)
        self.components_ = eigenvectors[:, order].T.copy()
        self.mean_ = mean
        if self.epsilon == 0 and np.any(self.eigenvalues_ <= 0):
            raise ValueError(
                "The covariance is singular (e.g. after per-patch mean removal) and epsilon=0, "
                "so whitening would divide by zero. Set epsilon > 0, or n_components below the "
                "data's rank."
            )
        return self

    # -------------------------------------------------------------- the maps
    @property
    def whitening_matrix(self):
        """``W`` with ``transform(x) == (x - mean_) @ W``, shape (d, output_dim)."""
        self._check_fitted()
        w = self.components_.T / np.sqrt(self.eigenvalues_ + self.epsilon)
        return w @ self.components_ if self.method == "zca" else w

    @property
    def dewhitening_matrix(self):
        """``V`` with ``inverse_transform(y) == y @ V + mean_``, shape (output_dim, d)."""
        self._check_fitted()
        v = np.sqrt(self.eigenvalues_ + self.epsilon)[:, None] * self.components_
        return self.components_.T @ v if self.method == "zca" else v

    def transform(self, x):
        """Whitens ``x`` of shape (n, d); floating inputs keep their dtype."""
        x, dtype = self._as_2d(x, self.input_dim, "transform")
        return ((x - self.mean_) @ self.whitening_matrix).astype(dtype, copy=False)

    def inverse_transform(self, y):
        """Maps whitened vectors back to the input space (exact when all components are kept)."""
        y, dtype = self._as_2d(y, self.output_dim, "inverse_transform")
        return (y @ self.dewhitening_matrix + self.mean_).astype(dtype, copy=False)

    # ---------------------------------------------------------- serialisation
    def get_config(self):
        """Plain dict of Python lists and numbers (JSON-serialisable), fitted state included."""
        return {
            "method": self.method,
            "n_components": self.n_components,
            "epsilon": self.epsilon,
            "mean": None if self.mean_ is None else self.mean_.tolist(),
            "eigenvalues": None if self.eigenvalues_ is None else self.eigenvalues_.tolist(),
            "components": None if self.components_ is None else self.components_.tolist(),
        }

    @classmethod
    def from_config(cls, config):
        """Rebuilds a (fitted) Whitening from `get_config`'s dict."""
        w = cls(config["method"], config.get("n_components"), config.get("epsilon", 1e-5))
        if config.get("components") is not None:
            w.mean_ = np.asarray(config["mean"], dtype=np.float64)
            w.eigenvalues_ = np.asarray(config["eigenvalues"], dtype=np.float64)
            w.components_ = np.asarray(config["components"], dtype=np.float64)
            k, d = w.components_.shape
            if w.mean_.shape != (d,) or w.eigenvalues_.shape != (k,):
                raise ValueError(
                    f"Inconsistent whitening config: components {w.components_.shape}, mean "
                    f"{w.mean_.shape}, eigenvalues {w.eigenvalues_.shape} (expected (k, d), (d,), "
                    "(k,)). Pass a dict made by Whitening.get_config()."
                )
        return w

    def __repr__(self):
        fitted = ""
        if self.is_fitted:
            fitted = f", input_dim={self.input_dim}, output_dim={self.output_dim}"
        return (
            f"Whitening(method={self.method!r}, n_components={self.n_components}, "
            f"epsilon={self.epsilon}{fitted})"
        )

    # ------------------------------------------------------------- internals
    def _check_fitted(self):
        if not self.is_fitted:
            raise ValueError("This Whitening is not fitted yet: call fit(training_data) first.")

    @staticmethod
    def _as_2d(x, dim, what):
        """``x`` as float64 (n, dim) and the dtype to return results in."""
        x = np.asarray(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(
                f"Whitening.{what} expects shape (n, {dim}), got {x.shape}. Pass flat vectors of "
                "the dimension this Whitening was fitted on."
            )
        return x.astype(np.float64, copy=False), dtype
