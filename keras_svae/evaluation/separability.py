"""Whether the codes separate the classes (needs labels).

Each function takes the posterior locations (``codes``) and the examples'
labels; the labels are used only to score, never to train the model. The two
accuracies are cross-validated (stratified folds, shuffled with ``seed``): each
example is classified once by a classifier fitted without it, and the mean
over the folds is returned. The silhouette needs no split: it fits nothing.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keras_svae.evaluation.checks import as_labels, as_matrix, positive_int


def _folds(labels, folds, seed):
    """Stratified, shuffled folds, after checking every class can be in each."""
    folds = positive_int(folds, "folds")
    if folds < 2:
        raise ValueError(f"Cross-validation needs folds >= 2, got {folds}.")
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        raise ValueError(
            f"The rarest class has {counts.min()} examples, fewer than folds={folds}: "
            "pass more examples or fewer folds."
        )
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def _cross_validated_accuracy(classifier, latent_codes, labels, splitter):
    scores = cross_val_score(classifier, latent_codes, labels, cv=splitter, scoring="accuracy")
    return float(np.mean(scores))


def knn_accuracy(latent_codes, labels, k=5, folds=5, seed=0):
    """Cross-validated accuracy of a k-nearest-neighbour classifier on the codes.

    Euclidean distance in the latent space as it is (not standardised): this
    measures whether examples of one class lie near each other in the space
    the decoder reads, the paper's "separability" of its latent spread plots.

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations.
        labels: class labels [n] (required).
        k: neighbours that vote; every training fold needs at least k examples.
        folds: stratified cross-validation folds (>= 2).
        seed: shuffles the folds.

    Returns:
        A float in [0, 1]: the mean held-out accuracy over the folds.
    """
    latent_codes = as_matrix(latent_codes, "latent_codes")
    labels = as_labels(labels, len(latent_codes))
    k = positive_int(k, "k")
    splitter = _folds(labels, folds, seed)
    smallest = min(len(train) for train, _ in splitter.split(latent_codes, labels))
    if smallest < k:
        raise ValueError(
            f"kNN with k={k} needs at least k training examples, but a training fold of "
            f"{len(latent_codes)} examples in {splitter.n_splits} folds holds {smallest}: "
            "pass more examples or a smaller k."
        )
    return _cross_validated_accuracy(
        KNeighborsClassifier(n_neighbors=k), latent_codes, labels, splitter
    )


def linear_probe_accuracy(latent_codes, labels, folds=5, seed=0, max_iter=1000):
    """Cross-validated accuracy of a multinomial logistic regression on the codes.

    Whether the classes are linearly separable in the latent space. The codes
    are standardised inside each fold (fitted on its training part), so the
    L2 penalty treats all latents alike whatever their scales.

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations.
        labels: class labels [n] (required).
        folds: stratified cross-validation folds (>= 2).
        seed: shuffles the folds.
        max_iter: iterations of the L-BFGS solver.

    Returns:
        A float in [0, 1]: the mean held-out accuracy over the folds.
    """
    latent_codes = as_matrix(latent_codes, "latent_codes")
    labels = as_labels(labels, len(latent_codes))
    splitter = _folds(labels, folds, seed)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    return _cross_validated_accuracy(probe, latent_codes, labels, splitter)


def silhouette(latent_codes, labels, sample_size=None, seed=0):
    """Mean silhouette coefficient of the classes in the latent space.

    For each example, (b - a) / max(a, b), with a its mean Euclidean distance
    to the other examples of its class and b the mean distance to the nearest
    other class (``sklearn.metrics.silhouette_score``): near 1 for tight,
    well-separated classes, near 0 for overlapping ones, negative when
    examples lie nearer another class than their own. All examples are used
    (it fits nothing, so there is nothing to hold out) unless ``sample_size``
    asks for a random subset, as the cost grows with n^2.

    Args:
        latent_codes: numpy array [n, latent_dim] of posterior locations.
        labels: class labels [n] (required), with 2 to n - 1 classes.
        sample_size: optional number of examples to score.
        seed: picks the subset.

    Returns:
        A float in [-1, 1].
    """
    latent_codes = as_matrix(latent_codes, "latent_codes", min_rows=3)
    labels = as_labels(labels, len(latent_codes))
    if len(np.unique(labels)) > len(latent_codes) - 1:
        raise ValueError(
            "The silhouette needs fewer classes than examples; every example has its own label."
        )
    if sample_size is not None:
        sample_size = positive_int(sample_size, "sample_size")
        if sample_size > len(latent_codes):
            raise ValueError(
                f"sample_size={sample_size} exceeds the {len(latent_codes)} examples given."
            )
    return float(silhouette_score(latent_codes, labels, sample_size=sample_size, random_state=seed))
