"""What each latent draws, and whether the learned patterns are the true ones."""

import dataclasses

import numpy as np
from scipy.optimize import linear_sum_assignment

from keras_svae.evaluation.checks import as_flat, is_model, positive_int


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
    if not is_model(model):
        raise ValueError(
            f"latent_patterns takes the trained model, got {type(model).__name__}: "
            "latent_patterns(model)."
        )
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
        for the true bases permuted, sign-flipped and rescaled) and the
        per-basis matches. Unrelated patterns do not score near 0: the
        matching picks the best of them for each basis, so 10 random
        patterns score about 0.36 against the 5 synthetic 5x5 bases; compare
        with ``basis_recovery_chance``.
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


def basis_recovery_chance(true_bases, n_patterns, n_draws=200, seed=0):
    """The ``basis_recovery`` score of random patterns: the level a learned
    score must clear to mean anything.

    One-to-one matching picks, for each true basis, the best of the
    ``n_patterns`` patterns, so random patterns score well above 0 in few
    dimensions: 10 random 25-pixel patterns against the 5 synthetic bases score
    about 0.36 (0.30-0.43). Each draw is ``n_patterns`` independent standard
    normal vectors (uniformly random directions), scored against the bases.

    Args:
        true_bases: the generating bases [n_bases, ...].
        n_patterns: how many patterns the model has (its latent_dim), >= 1.
        n_draws: how many random sets of patterns to score, >= 2.
        seed: integer seed of the draws.

    Returns:
        A dict: ``mean`` score over the draws and its 5% and 95% quantiles
        ``low`` and ``high``.
    """
    truth = as_flat(true_bases, "true_bases")
    n_patterns = positive_int(n_patterns, "n_patterns")
    n_draws = positive_int(n_draws, "n_draws")
    if n_draws < 2:
        raise ValueError(f"n_draws must be at least 2 for an interval, got {n_draws}.")
    rng = np.random.default_rng(seed)
    scores = [
        basis_recovery(rng.normal(size=(n_patterns, truth.shape[1])), truth).score
        for _ in range(n_draws)
    ]
    low, high = np.percentile(scores, [5, 95])
    return {"mean": float(np.mean(scores)), "low": float(low), "high": float(high)}
