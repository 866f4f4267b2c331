"""Numbers for the paper's qualitative claims, each saying what it estimates.

- ``likelihood``: ``elbo`` and ``iwae``, bounds on log p(x) in nats per
  example; the IWAE bound at large k is the number that compares priors.
- ``sparsity``: which latents carry information (``informative_latents``,
  the one definition behind active units, collapse and sparsity), Hoyer
  sparsity, the L0 curve, per-latent KL and its floor, posterior collapse.
- ``reconstruction``: explained variance and reconstruction error.
- ``collapse``: ``model_collapsed``, whether a model learned anything
  (explained variance and test KL above floors) before it is compared, and
  ``collapse_message``, the one line that says so with the settings that fix it.
- ``patterns``: what each latent draws (``latent_patterns``) and one-to-one
  ``basis_recovery`` of known generating bases, and its chance level.
- ``dictionary``: a learned dictionary's atoms as Gabors (centre, orientation,
  frequency, envelope, phase) and its Gabor-like counts (``analyze_dictionary``).
- ``gabor``: least-squares 2-D Gabor fits of the patterns (natural images),
  and the fraction of smooth random patterns that pass (``gabor_chance``).
- ``separability``: kNN and linear-probe accuracy and the silhouette of the
  classes in the latent space (labels required).

Functions take ``(model, x)`` (a trained SparseVAE and its examples: a numpy
array or a finite tf.data.Dataset), or arrays the others return; the numbers
of a model's codes and reconstructions (``active_units``, ``hoyer_sparsity``,
``explained_variance``) take either. They give floats, numpy arrays or small
dataclasses/dicts, so results go into metrics.json and tables. Bad input is a
ValueError naming the problem and the expected argument.
"""

from keras_svae.evaluation.collapse import collapse_message, model_collapsed
from keras_svae.evaluation.dictionary import DictionaryAnalysis, analyze_dictionary, canonical_gabor
from keras_svae.evaluation.gabor import (
    gabor_chance,
    gabor_fit,
    gabor_image,
    gabor_likeness,
    smooth_random_patterns,
)
from keras_svae.evaluation.latents import batched, codes
from keras_svae.evaluation.likelihood import elbo, iwae
from keras_svae.evaluation.patterns import (
    BasisMatch,
    basis_recovery,
    basis_recovery_chance,
    latent_patterns,
)
from keras_svae.evaluation.reconstruction import explained_variance, reconstruction_mse
from keras_svae.evaluation.separability import knn_accuracy, linear_probe_accuracy, silhouette
from keras_svae.evaluation.sparsity import (
    active_latents,
    active_units,
    collapsed_fraction,
    hoyer_sparsity,
    informative_latents,
    kl_floor,
    kl_per_latent,
    l0_curve,
    posterior_collapse,
)

__all__ = [
    "BasisMatch",
    "DictionaryAnalysis",
    "active_latents",
    "active_units",
    "analyze_dictionary",
    "basis_recovery",
    "basis_recovery_chance",
    "batched",
    "canonical_gabor",
    "collapse_message",
    "codes",
    "collapsed_fraction",
    "elbo",
    "explained_variance",
    "gabor_chance",
    "gabor_image",
    "gabor_fit",
    "gabor_likeness",
    "hoyer_sparsity",
    "informative_latents",
    "iwae",
    "kl_floor",
    "kl_per_latent",
    "knn_accuracy",
    "l0_curve",
    "latent_patterns",
    "linear_probe_accuracy",
    "model_collapsed",
    "posterior_collapse",
    "reconstruction_mse",
    "silhouette",
    "smooth_random_patterns",
]
