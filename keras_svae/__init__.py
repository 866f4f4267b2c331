"""keras_svae: variational auto-encoders with sparsity-promoting priors.

Importing the package registers its Keras classes (so ``keras.models.load_model``
needs no custom_objects) and the closed-form KL(Normal || Laplace) with TFP.

On a device with numpy and LiteRT but no TensorFlow, only the numpy-only
modules import (``keras_svae.export.generator``, ``keras_svae.export.sampling``,
``keras_svae.names``, ``keras_svae.files``); everything else says it needs
TensorFlow. A ``keras-svae-generate`` (``python -m export.generate``) process
works the same way where TensorFlow is installed: it needs numpy and LiteRT
only, and importing TensorFlow took 6.6 of its 8.7 s.
"""

import importlib.metadata
import importlib.util
import os
import sys

from keras_svae.names import (
    DECODERS,
    ENCODERS,
    KL_MODES,
    LIKELIHOODS,
    POSTERIORS,
    PRIORS,
)


def _installed_version():
    """The version pyproject.toml declares, as the installed package records it."""
    try:
        return importlib.metadata.version("keras-svae")
    except importlib.metadata.PackageNotFoundError:
        # Imported from a source tree that was never installed: no metadata to
        # read, and a made-up number would be wrong. `pip install -e .` fixes it.
        return "0+unknown"


__version__ = _installed_version()


def _tensorflow_installed():
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:  # sys.modules["tensorflow"] is None: its import is blocked
        return False


# The entry points that need numpy and LiteRT only, as the running program
# names them: the console script's file, or the module `python -m` runs.
NUMPY_ONLY_PROGRAMS = ("keras-svae-generate", "export.generate")


def _numpy_only_program():
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = spec.name if spec is not None else os.path.basename(getattr(main, "__file__", "") or "")
    return name in NUMPY_ONLY_PROGRAMS


HAS_TENSORFLOW = _tensorflow_installed() and not _numpy_only_program()

if HAS_TENSORFLOW:
    from keras_svae.quiet import import_tensorflow

    import_tensorflow()  # honours TF_CPP_MIN_LOG_LEVEL for TensorFlow's start-up lines

    from keras_svae import data
    from keras_svae.distributions import make_posterior, make_prior
    from keras_svae.ica import ICA
    from keras_svae.kl import has_closed_form, kl_divergence
    from keras_svae.likelihoods import (
        BernoulliLikelihood,
        GaussianLikelihood,
        Likelihood,
        make_likelihood,
    )
    from keras_svae.model import SparseVAE
    from keras_svae.networks import build_decoder, build_encoder
    from keras_svae.posteriors import posterior_from_params, posterior_width
    from keras_svae.sparse_coding import SparseCoding
    from keras_svae.spike_slab import SpikeSlab
    from keras_svae.thresholds import Thresholded, threshold_kl
else:

    def __getattr__(name):
        raise ImportError(
            f"keras_svae.{name} needs TensorFlow, which is not installed here (or this is "
            "a numpy-only program, such as keras-svae-generate). "
            "`pip install keras-svae` installs it; without it only the LiteRT "
            "generator (keras_svae.export.generator) works."
        )


__all__ = [
    "BernoulliLikelihood",
    "DECODERS",
    "ENCODERS",
    "GaussianLikelihood",
    "ICA",
    "KL_MODES",
    "LIKELIHOODS",
    "Likelihood",
    "POSTERIORS",
    "PRIORS",
    "SparseCoding",
    "SparseVAE",
    "SpikeSlab",
    "Thresholded",
    "build_decoder",
    "build_encoder",
    "data",
    "has_closed_form",
    "kl_divergence",
    "make_likelihood",
    "make_posterior",
    "make_prior",
    "posterior_from_params",
    "posterior_width",
    "threshold_kl",
]
