"""keras_svae: variational auto-encoders with sparsity-promoting priors.

Importing the package registers its Keras classes (so ``keras.models.load_model``
needs no custom_objects) and the closed-form KL(Normal || Laplace) with TFP.
"""

from keras_svae import data
from keras_svae.distributions import PRIORS, POSTERIORS, make_posterior, make_prior
from keras_svae.kl import KL_MODES, has_closed_form, kl_divergence
from keras_svae.likelihoods import (
    LIKELIHOODS,
    BernoulliLikelihood,
    GaussianLikelihood,
    Likelihood,
    make_likelihood,
)
from keras_svae.model import SparseVAE
from keras_svae.networks import DECODERS, ENCODERS, build_decoder, build_encoder

__version__ = "0.1.0"

__all__ = [
    "BernoulliLikelihood",
    "DECODERS",
    "ENCODERS",
    "GaussianLikelihood",
    "KL_MODES",
    "LIKELIHOODS",
    "Likelihood",
    "POSTERIORS",
    "PRIORS",
    "SparseVAE",
    "build_decoder",
    "build_encoder",
    "data",
    "has_closed_form",
    "kl_divergence",
    "make_likelihood",
    "make_posterior",
    "make_prior",
]
