"""PCA/ZCA whitening: identity covariance on training data, exact inverse, JSON config."""

import json

import numpy as np
import pytest

from keras_svae.data.whitening import Whitening


@pytest.fixture(scope="module")
def correlated():
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(8, 8)) * np.linspace(3.0, 0.1, 8)
    return rng.normal(size=(2000, 8)) @ mixing + 5.0


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitened_training_data_have_identity_covariance(correlated, method):
    y = Whitening(method, epsilon=1e-10).fit(correlated).transform(correlated)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(np.cov(y, rowvar=False), np.eye(8), atol=1e-6)


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_inverse_reconstructs_input(correlated, method):
    w = Whitening(method, epsilon=1e-3).fit(correlated)
    np.testing.assert_allclose(w.inverse_transform(w.transform(correlated)), correlated, atol=1e-9)
    np.testing.assert_allclose(w.whitening_matrix @ w.dewhitening_matrix, np.eye(8), atol=1e-9)


def test_zca_is_symmetric_and_stays_close_to_the_input(correlated):
    w = Whitening("zca", epsilon=1e-8).fit(correlated)
    np.testing.assert_allclose(w.whitening_matrix, w.whitening_matrix.T, atol=1e-9)
    # ZCA is the whitening transform closest to the identity: every output
    # coordinate is positively correlated with the input coordinate it replaces.
    y = w.transform(correlated)
    corr = [np.corrcoef(correlated[:, i], y[:, i])[0, 1] for i in range(8)]
    assert min(corr) > 0


def test_pca_dimension_reduction(correlated):
    w = Whitening("pca", n_components=3, epsilon=1e-10).fit(correlated)
    y = w.transform(correlated)
    assert y.shape == (2000, 3)
    np.testing.assert_allclose(np.cov(y, rowvar=False), np.eye(3), atol=1e-6)
    # Kept components are the top-variance directions: the reconstruction error
    # equals the variance in the dropped directions.
    centred = correlated - correlated.mean(axis=0)
    eig = np.sort(np.linalg.eigvalsh(np.cov(centred, rowvar=False)))[::-1]
    err = ((w.inverse_transform(y) - correlated) ** 2).sum(axis=1).mean() * 2000 / 1999
    np.testing.assert_allclose(err, eig[3:].sum(), rtol=1e-6)


def test_config_json_round_trip(correlated):
    w = Whitening("pca", n_components=5, epsilon=1e-2).fit(correlated)
    w2 = Whitening.from_config(json.loads(json.dumps(w.get_config())))
    np.testing.assert_array_equal(w2.transform(correlated), w.transform(correlated))
    np.testing.assert_array_equal(
        w2.inverse_transform(w.transform(correlated)), w.inverse_transform(w.transform(correlated))
    )
    assert Whitening.from_config(Whitening("zca").get_config()).is_fitted is False


def test_float32_in_float32_out(correlated):
    w = Whitening("zca").fit(correlated)
    assert w.transform(correlated.astype(np.float32)).dtype == np.float32


def test_errors(correlated):
    with pytest.raises(ValueError, match="method"):
        Whitening("svd")
    with pytest.raises(ValueError, match="not fitted"):
        Whitening().transform(correlated)
    with pytest.raises(ValueError, match="exceeds"):
        Whitening("pca", n_components=9).fit(correlated)
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        Whitening().fit(correlated).transform(correlated[:, :4])
    singular = np.c_[correlated, correlated[:, :1]]
    with pytest.raises(ValueError, match="singular"):
        Whitening(epsilon=0).fit(singular)


def test_patterns_are_unwhitened_without_the_mean():
    from keras_svae.data import DatasetInfo

    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(500, 16)) @ rng.normal(size=(16, 16))
    whitening = Whitening("zca").fit(x)
    info = DatasetInfo(
        name="t",
        split="train",
        num_examples=500,
        batch_size=10,
        element_shape=(16,),
        value_range=(-1.0, 1.0),
        whitening=whitening,
    )
    a, b = whitening.transform(x[:3]), whitening.transform(x[3:6])
    # A difference of whitened vectors maps to the difference of the pixels.
    np.testing.assert_allclose(
        info.undo_preprocessing(a - b, difference=True), x[:3] - x[3:6], rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(info.undo_preprocessing(a), x[:3], rtol=1e-4, atol=1e-4)
