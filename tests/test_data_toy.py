"""The toy data: sparse sums of two Gaussian templates in 10x10 images."""

import numpy as np

from keras_svae.data.toy import gaussian_templates, load_toy, make_toy_images


def test_images_are_sparse_sums_of_the_templates_plus_small_noise():
    images, amplitudes, templates = make_toy_images(5000, seed=1, noise_std=0.05)
    assert (
        images.shape == (5000, 10, 10)
        and amplitudes.shape == (5000, 2)
        and templates.shape == (2, 10, 10)
    )
    assert images.min() >= 0.0 and images.max() <= 1.0
    # Templates: peak 1 at the given centres.
    np.testing.assert_allclose(templates.max(axis=(1, 2)), 1.0)
    assert np.unravel_index(templates[1].argmax(), (10, 10)) == (6, 6)
    # Half of the amplitudes are exactly zero, the rest in [0.5, 1].
    zero = amplitudes == 0
    assert 0.45 < zero.mean() < 0.55
    assert amplitudes[~zero].min() >= 0.5 and amplitudes[~zero].max() <= 1.0
    # Residual after removing the known sum is the noise, where clipping to [0, 1] is unlikely.
    clean = np.einsum("nk,kij->nij", amplitudes, templates)
    mid = (clean > 0.25) & (clean < 0.75)
    residual = (images - clean)[mid]
    assert abs(residual.mean()) < 0.005
    np.testing.assert_allclose(residual.std(), 0.05, rtol=0.05)


def test_reproducible_from_the_seed():
    a = make_toy_images(100, seed=3)
    b = make_toy_images(100, seed=3)
    c = make_toy_images(100, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_load_toy_pipeline_with_true_amplitudes():
    ds, info = load_toy(300, seed=2, with_labels=True, batch_size=100, shuffle=False, flatten=False)
    x, y = next(iter(ds))
    images, amplitudes, templates = make_toy_images(300, seed=2)
    assert x.shape == (100, 10, 10, 1) and y.shape == (100, 2)
    np.testing.assert_array_equal(x.numpy()[..., 0], images[:100])
    np.testing.assert_array_equal(y.numpy(), amplitudes[:100])
    np.testing.assert_array_equal(info.extra["templates"], gaussian_templates())
    assert info.value_range == (0.0, 1.0) and info.label_shape == (2,)
    flat, flat_info = load_toy(50, batch_size=50)
    assert next(iter(flat)).shape == (50, 100) and flat_info.element_shape == (100,)
