"""The presets a run's data and model follow, one object each.

A preset says how the data of every data set are made, how the model treats
them and which of the paper author's quirks it trains with. A run names its
preset in ``ExperimentConfig.recipe``; the data loaders and the reproduction
grid read the preset's fields, so a new preset is one entry of ``PRESETS``
(and, for the grid, the table of ``training/configs/*.toml`` it reads).

- ``library``: this project's choices: Laplace-coefficient synthetic patches
  with noise, dynamically binarised MNIST under a Bernoulli likelihood,
  random CIFAR crops (whitened as the config says).
- ``paper``: the data and loss of the paper author's notebooks: B z clipped to
  [0.001, 0.999], grey MNIST on the first 55,000 digits, grey centre crops of
  CIFAR's data_batch_1 / 256, and "summed squared error + lam * KL" as a
  Gaussian likelihood of fixed scale sqrt(lam / 2).
- ``author``: the ``paper`` preset plus the notebooks' computation where it
  differs from a correct VAE (``keras_svae.quirks``): the Normal notebook's KL
  for a variance exp(l), the Cauchy notebook's noise drawn once per run from
  the alpha-stable sampler (alpha 1, and alpha 2 of its saved state), and the
  saved Laplace notebook's Normal KL beside its sampled Laplace KL. These
  reproduce bugs, not methods.
"""

import dataclasses
import types

from keras_svae.names import lookup, paper_posterior
from keras_svae.quirks import KL_QUIRKS, MATRIX_MODES, check_noise


@dataclasses.dataclass(frozen=True)
class Preset:
    """How one preset makes the data and trains on them.

    Attributes:
        name: the preset's name (``ExperimentConfig.recipe``).
        table: the table of an experiment file (``training/configs``) its
            runs' fields come from.
        synthetic: "noisy" (Laplace coefficients plus Gaussian noise, the
            library's) or "clipped" (the notebooks' clip(B z), coefficients as
            the config's ``coefficients`` says).
        mnist_binarize: "dynamic" (new binary digits each epoch) or None (grey).
        mnist_train: the first training digits kept (None: all).
        cifar_patches: "random" (crops of every training image, whitened as
            the config's ``whiten`` says) or "centre" (grey centre crops of
            data_batch_1 / 256, no mean removal, no whitening).
        squared_error: train on "summed squared error + lam * KL": a Gaussian
            likelihood of fixed scale sqrt(lam / 2), lam per data set
            (``config.PAPER_LAMBDA``).
        prior_fields: config fields per prior, set over the table's (the
            quirks of each notebook).
        variants: extra runs per experiment, (prior, tag, fields) each: the
            same experiment with the prior's fields changed, under the tag.
    """

    name: str
    table: str
    synthetic: str
    mnist_binarize: str | None
    mnist_train: int | None
    cifar_patches: str
    squared_error: bool
    prior_fields: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({})
    )
    variants: tuple = ()


LIBRARY = Preset(
    name="library",
    table="library",
    synthetic="noisy",
    mnist_binarize="dynamic",
    mnist_train=None,
    cifar_patches="random",
    squared_error=False,
)
# The paper's training digits: the first 55,000 (its TF1 input_data split).
PAPER_MNIST_TRAIN = 55000
PAPER = Preset(
    name="paper",
    table="paper",
    synthetic="clipped",
    mnist_binarize=None,
    mnist_train=PAPER_MNIST_TRAIN,
    cifar_patches="centre",
    squared_error=True,
)
AUTHOR = dataclasses.replace(
    PAPER,
    name="author",
    prior_fields=types.MappingProxyType(
        {
            "normal": {"kl_quirk": "variance_as_scale"},
            "cauchy": {"noise": "fixed", "noise_alpha": 1.0},
        }
    ),
    variants=(
        ("laplace", "notebook-normal-kl", {"kl_quirk": "variance_as_scale"}),
        ("cauchy", "alpha2", {"noise": "fixed", "noise_alpha": 2.0}),
    ),
)
PRESETS = {preset.name: preset for preset in (LIBRARY, PAPER, AUTHOR)}


def preset(name):
    """The `Preset` called ``name``.

    Args:
        name: one of ``PRESETS`` (any case).

    Returns:
        A `Preset`.

    Raises:
        ValueError: for another name, listing the presets.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}. Valid choices: {', '.join(map(repr, PRESETS))}."
        )
    return PRESETS[key]


def check_quirk_fields(config):
    """Check and canonicalise a config's quirk fields in place (``noise``,
    ``noise_alpha``, ``kl_quirk``), once its ``batch_size`` is known: a
    noise matrix ("fixed", "epoch", "quasi") has one row per example of a batch.

    Args:
        config: an `ExperimentConfig` being made.

    Raises:
        ValueError: as ``quirks.check_noise`` does, or for an unknown kl_quirk.
    """
    matrix = isinstance(config.noise, str) and config.noise.lower() in MATRIX_MODES
    config.noise, _, config.noise_alpha = check_noise(
        config.noise,
        config.batch_size if matrix else None,
        config.noise_alpha,
        config.posterior or paper_posterior(config.prior),
    )
    if config.kl_quirk is not None:
        config.kl_quirk = lookup(config.kl_quirk, KL_QUIRKS, "kl_quirk")
