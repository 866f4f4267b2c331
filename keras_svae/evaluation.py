"""Numbers for the paper's qualitative claims: reconstruction, sparsity, patterns.

Each function takes a trained SparseVAE (and data as numpy arrays) and returns
plain floats or arrays, so results can go into metrics.json and tables.
"""

import numpy as np


def _batched(function, x, batch_size=1000):
    """Apply ``function`` to ``x`` in batches and stack the numpy results."""
    return np.concatenate(
        [np.asarray(function(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    )


def codes(model, x, batch_size=1000):
    """The posterior's mode (its location) for each example: [n, latent_dim]."""
    return _batched(lambda b: model.encode(b).mode(), x, batch_size)


def reconstruction_mse(model, x, batch_size=1000):
    """Mean squared error between x and its reconstruction from the posterior mode."""
    reconstructions = _batched(model.reconstruct, x, batch_size)
    return float(np.mean((reconstructions - x) ** 2))


def active_units(latent_codes, threshold=0.01):
    """How many latents vary across the data (variance of the code > threshold),
    the usual count of units the model uses (Burda et al., 2016)."""
    return int(np.sum(np.var(latent_codes, axis=0) > threshold))


def hoyer_sparsity(latent_codes):
    """Mean Hoyer sparsity of the codes: 0 when all latents are equal in size,
    1 when one latent alone is non-zero."""
    n = latent_codes.shape[1]
    if n < 2:
        raise ValueError("Hoyer sparsity needs at least 2 latents.")
    l1 = np.sum(np.abs(latent_codes), axis=1)
    l2 = np.sqrt(np.sum(latent_codes**2, axis=1))
    ratio = np.divide(l1, l2, out=np.full_like(l1, np.sqrt(n)), where=l2 > 0)
    return float(np.mean((np.sqrt(n) - ratio) / (np.sqrt(n) - 1)))


def latent_patterns(model, amplitude=1.0):
    """What each latent adds to the decoded data: decode(a e_k) - decode(0).

    For a linear decoder with a Gaussian likelihood this is exactly row k of
    the decoder's matrix A (the basis function of sparse coding).
    Returns [latent_dim, *data_shape].
    """
    basis = amplitude * np.eye(model.latent_dim, dtype=np.float32)
    zero = np.zeros((1, model.latent_dim), dtype=np.float32)
    return np.asarray(model.decode(basis)) - np.asarray(model.decode(zero))


def basis_recovery(patterns, true_bases):
    """For each true basis, the best absolute cosine similarity with any learned
    pattern, averaged: 1.0 means every true basis was found (up to sign and
    scale), values near 0 mean none was."""
    learned = patterns.reshape(len(patterns), -1)
    truth = true_bases.reshape(len(true_bases), -1)
    learned = learned / np.maximum(np.linalg.norm(learned, axis=1, keepdims=True), 1e-12)
    truth = truth / np.maximum(np.linalg.norm(truth, axis=1, keepdims=True), 1e-12)
    return float(np.mean(np.max(np.abs(truth @ learned.T), axis=1)))
