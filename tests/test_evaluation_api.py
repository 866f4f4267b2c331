"""One calling convention for the evaluation functions (issue 20, item 13):
``(model, x)`` with x a numpy array or a tf.data.Dataset, the array forms for
what the others return, and errors that name the expected argument."""

import numpy as np
import pytest
import tensorflow as tf

from keras_svae import SparseVAE, evaluation

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 3, 3)).astype("float32")


@pytest.fixture(scope="module")
def model():
    model = SparseVAE(latent_dim=4, data_shape=(3, 3), decoder="linear", encoder_units=(16,),
                      likelihood="gaussian", likelihood_scale=0.3, seed=0)  # fmt: skip
    model.compile()
    model.fit(X, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize(
    "dataset",
    [
        tf.data.Dataset.from_tensor_slices(X).batch(10),  # batched
        tf.data.Dataset.from_tensor_slices(X),  # unbatched examples
        tf.data.Dataset.from_tensor_slices((X, np.arange(64))).batch(7),  # (x, label)
    ],
    ids=["batched", "unbatched", "with-labels"],
)
@pytest.mark.slow
def test_model_functions_accept_a_dataset_with_the_same_numbers(model, dataset):
    np.testing.assert_array_equal(evaluation.codes(model, dataset), evaluation.codes(model, X))
    np.testing.assert_allclose(
        evaluation.iwae(model, dataset, k=8, seed=1, progress=False),
        evaluation.iwae(model, X, k=8, seed=1, progress=False),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        evaluation.elbo(model, dataset, seed=2), evaluation.elbo(model, X, seed=2), rtol=1e-6
    )
    np.testing.assert_allclose(
        evaluation.kl_per_latent(model, dataset), evaluation.kl_per_latent(model, X), rtol=1e-6
    )
    assert evaluation.reconstruction_mse(model, dataset) == pytest.approx(
        evaluation.reconstruction_mse(model, X)
    )


def test_numbers_of_codes_and_reconstructions_take_the_model_too(model):
    codes = evaluation.codes(model, X)
    mask = evaluation.informative_latents(model, X)
    kl = evaluation.kl_per_latent(model, X)
    floor = evaluation.kl_floor(model)
    assert evaluation.active_units(model, X) == evaluation.active_units(codes, kl=kl, floor=floor)
    assert evaluation.active_units(model, X) == int(mask.sum())
    expected = evaluation.hoyer_sparsity(codes, mask)
    assert evaluation.hoyer_sparsity(model, X) == expected
    reconstructions = model.reconstruct(X)
    assert evaluation.explained_variance(model, X) == pytest.approx(
        evaluation.explained_variance(X, reconstructions)
    )
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(16)
    assert evaluation.explained_variance(model, dataset) == pytest.approx(
        evaluation.explained_variance(model, X)
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: evaluation.iwae(X, m), r"first argument must be the trained model .*model, x"),
        (lambda m: evaluation.codes(np.zeros(3), X), r"first argument must be the trained model"),
        (lambda m: evaluation.hoyer_sparsity(tf.data.Dataset.from_tensor_slices(X)),
         r"latent_codes must be a numpy array, got a tf.data.Dataset; pass a numpy array"),
        (lambda m: evaluation.active_units(X.reshape(64, 9)),
         r"active_units takes \(model, x\), or codes with their KL per latent"),
        (lambda m: evaluation.hoyer_sparsity(m), r"x must be a numpy array, got None"),
        (lambda m: evaluation.explained_variance(X, m),
         r"reconstructions must be a numpy array, got a SparseVAE model; pass model.reconstruct"),
        (lambda m: evaluation.basis_recovery(m, np.eye(9)),
         r"patterns must be a numpy array, got a SparseVAE model; pass evaluation.latent_pat"),
        (lambda m: evaluation.knn_accuracy(m, np.arange(64)),
         r"latent_codes must be a numpy array, got a SparseVAE model; pass evaluation.codes"),
        (lambda m: evaluation.latent_patterns(X), r"latent_patterns takes the trained model"),
        (lambda m: evaluation.iwae(m, tf.data.Dataset.from_tensor_slices(X).repeat()),
         r"x is an infinite tf.data.Dataset"),
        (lambda m: evaluation.iwae(m, tf.data.Dataset.from_tensor_slices(X[:, 0])),
         r"dataset whose elements have shape \(3,\); the model expects examples of shape"),
        (lambda m: evaluation.elbo(m, [X[0], X[1, :2]]),
         r"x must be one numeric array of examples of shape \(3, 3\); its examples have"),
    ],
    ids=["swapped", "not-a-model", "dataset-as-codes", "codes-without-kl", "model-without-x",
         "model-as-reconstructions", "model-as-patterns", "model-as-codes", "x-as-model",
         "infinite-dataset", "wrong-element-shape", "ragged"],
)  # fmt: skip
def test_errors_name_the_expected_argument(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)
