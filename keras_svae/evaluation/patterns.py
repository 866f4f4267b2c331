"""What each latent draws, and whether the learned patterns are the true ones."""

import dataclasses

import numpy as np
from scipy.optimize import linear_sum_assignment

from keras_svae.evaluation.checks import as_flat


def latent_patterns(model, amplitude=1.0):
    """What each latent adds to the decoded data: decode(a e_k) - decode(0).

    For a linear decoder with a Gaussian likelihood this is exactly row k of
    the decoder's matrix A (the basis function of sparse coding), times a; for
    a non-linear decoder it is the effect of that one latent at the origin.

    Args:
        model: a built SparseVAE.
        amplitude: the value a given to each latent in turn.

    Returns:
        A numpy array [latent_dim, *data_shape].
    """
    basis = amplitude * np.eye(model.latent_dim, dtype=np.float32)
    zero = np.zeros((1, model.latent_dim), dtype=np.float32)
    return np.asarray(model.decode(basis)) - np.asarray(model.decode(zero))


@dataclasses.dataclass(frozen=True)
class BasisMatch:
    """The result of ``basis_recovery``.

    Attributes:
        score: mean over the true bases of the matched |cosine| (0 for a basis
            left without a pattern); 1.0 means every basis was found.
        pattern_index: for each true basis, the index of the learned pattern
            matched to it, or -1 when there were fewer patterns than bases.
        cosine: for each true basis, the |cosine| with its matched pattern.

    ``float(match)`` is the score, so a ``BasisMatch`` goes where a number did
    (e.g. ``json.dumps(..., default=float)``).
    """

    score: float
    pattern_index: np.ndarray
    cosine: np.ndarray

    def __float__(self):
        return float(self.score)


def basis_recovery(patterns, true_bases):
    """How well the learned patterns recover the true bases, one to one.

    Each true basis is matched to a different learned pattern so that the sum
    of the matched |cosine similarities| is largest (the Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``). |cosine| ignores sign and scale,
    which a sparse code cannot identify; the one-to-one matching means one
    pattern that resembles several bases cannot be credited for all of them,
    so a model must learn every basis separately to score 1.

    Args:
        patterns: learned patterns [n_patterns, ...] (``latent_patterns``).
        true_bases: the generating bases [n_bases, ...], each of the
            patterns' size.

    Returns:
        A ``BasisMatch``: the mean matched |cosine| over the true bases (1.0
        for the true bases permuted, sign-flipped and rescaled; near 0 for
        unrelated patterns in many dimensions) and the per-basis matches.
    """
    learned = as_flat(patterns, "patterns")
    truth = as_flat(true_bases, "true_bases")
    if learned.shape[1] != truth.shape[1]:
        raise ValueError(
            f"Each pattern has {learned.shape[1]} values but each true basis has "
            f"{truth.shape[1]}; they must be of the same size."
        )
    learned = learned / np.maximum(np.linalg.norm(learned, axis=1, keepdims=True), 1e-12)
    truth = truth / np.maximum(np.linalg.norm(truth, axis=1, keepdims=True), 1e-12)
    similarity = np.abs(truth @ learned.T)  # [n_bases, n_patterns]
    bases, chosen = linear_sum_assignment(similarity, maximize=True)
    pattern_index = np.full(len(truth), -1)
    cosine = np.zeros(len(truth))
    pattern_index[bases] = chosen
    cosine[bases] = similarity[bases, chosen]
    return BasisMatch(score=float(np.mean(cosine)), pattern_index=pattern_index, cosine=cosine)
