"""The ICA baseline (scikit-learn's FastICA as a model): it recovers a known
sparse mixing, is seeded, saves and loads, and the evaluation reads it as it
reads a SparseVAE; on whitened natural-image patches its atoms are Gabors."""

import keras
import numpy as np

from keras_svae import ICA, evaluation
from keras_svae.data.images import list_image_files, load_image_patches
from keras_svae.reproduce.measures import QUICK_GABOR

N_SOURCES, SIDE = 6, 5


def laplace_mixture(n=3000, seed=0, n_sources=N_SOURCES):
    """n examples of 25 pixels mixed from Laplace sources (random mixing
    columns, a little Gaussian noise); returns (x, mixing columns [n_sources, 25])."""
    rng = np.random.default_rng(seed)
    bases = rng.normal(size=(n_sources, SIDE * SIDE))
    sources = rng.laplace(size=(n, n_sources))
    x = sources @ bases + 0.01 * rng.normal(size=(n, SIDE * SIDE))
    return x.astype(np.float32), bases


def test_recovers_the_mixing_columns_of_laplace_sources():
    x, bases = laplace_mixture()
    model = ICA(n_components=N_SOURCES, seed=0).fit(x)
    assert model.converged and model.latent_dim == N_SOURCES and model.data_shape == (25,)
    patterns = evaluation.latent_patterns(model)
    assert patterns.shape == (N_SOURCES, 25)
    np.testing.assert_allclose(patterns, model.atoms, atol=1e-5)
    score = evaluation.basis_recovery(patterns, bases).score
    chance = evaluation.basis_recovery_chance(bases, N_SOURCES, seed=0)
    assert score > 0.99 and chance["high"] < 0.8, (score, chance)
    # The codes are the sources up to order, sign and scale: unit variance.
    codes = evaluation.codes(model, x)
    np.testing.assert_allclose(codes.std(axis=0), 1.0, atol=0.01)
    assert evaluation.explained_variance(model, x) > 0.99


def test_same_seed_same_dictionary_and_a_saved_model_loads(tmp_path):
    x, _ = laplace_mixture(2000, n_sources=25)
    first = ICA(seed=3).fit(x)  # complete: one source per feature
    again = ICA(seed=3).fit(x)
    other = ICA(seed=4).fit(x)
    assert first.latent_dim == 25 and first.converged
    np.testing.assert_array_equal(first.atoms, again.atoms)
    assert not np.allclose(first.atoms, other.atoms)
    # Examples of any shape are flattened; codes and atoms are the same.
    images = ICA(seed=3).fit(x.reshape(-1, SIDE, SIDE, 1))
    assert images.data_shape == (SIDE, SIDE, 1) and images.atoms.shape == (25, SIDE, SIDE, 1)
    np.testing.assert_array_equal(images.atoms.reshape(25, -1), first.atoms)
    assert images.reconstruct(x[:3].reshape(-1, SIDE, SIDE, 1)).shape == (3, SIDE, SIDE, 1)
    first.save(tmp_path / "ica.keras")
    loaded = keras.models.load_model(tmp_path / "ica.keras")
    assert isinstance(loaded, ICA) and loaded.get_config() == first.get_config()
    np.testing.assert_array_equal(loaded.atoms, first.atoms)
    np.testing.assert_array_equal(evaluation.codes(loaded, x), evaluation.codes(first, x))
    np.testing.assert_allclose(loaded.reconstruct(x).numpy(), x, atol=1e-3)


def test_atoms_of_whitened_natural_image_patches_are_gabors(shared_data):
    """Complete ICA (144 sources) of 10,000 ZCA-whitened BSDS 12x12 patches,
    its atoms shown as pixels as the reports show them. Measured: 0.69 of the
    first 36 atoms Gabor-like (0.71 of all 144, 0.81 with 20,000 patches and
    the full Gabor search); 2,000 patches are too few for 144 sources (0.27)."""
    files = list_image_files(shared_data / "bsds300" / "train")
    dataset, info = load_image_patches(files, patches_per_image=50, whiten="zca",
                                       batch_size=10_000, shuffle=False)  # fmt: skip
    x = np.concatenate([batch.numpy() for batch in dataset])
    model = ICA(seed=0).fit(x)
    assert x.shape == (10_000, 144) and model.latent_dim == 144 and model.converged
    assert evaluation.explained_variance(model, x) > 0.999  # complete: nothing is lost
    patterns = info.undo_preprocessing(evaluation.latent_patterns(model), difference=True)
    analysis = evaluation.analyze_dictionary(patterns[:36], (12, 12), **QUICK_GABOR)
    fraction = analysis.summary()["gabor_fraction"]
    chance = evaluation.gabor_chance((12, 12), **QUICK_GABOR)
    assert fraction > 0.5 and fraction > chance + 0.3, (fraction, chance)
