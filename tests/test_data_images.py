"""Natural-image patches (BSDS300 photographs): whitening, inverse, labels, errors."""

import numpy as np
import pytest
import tensorflow as tf

from keras_svae.data.images import list_image_files, load_image_patches

N_IMAGES = 4


@pytest.fixture(scope="module")
def bsds_files(shared_data):
    files = list_image_files(shared_data / "bsds300" / "train")
    assert len(files) == 200
    return files[:N_IMAGES]


def all_x(ds):
    return np.concatenate([(b[0] if isinstance(b, tuple) else b).numpy() for b in ds])


def test_zca_gives_identity_covariance_on_training_patches(bsds_files):
    ds, info = load_image_patches(
        bsds_files,
        patch_size=8,
        patches_per_image=500,
        remove_mean=False,
        whiten="zca",
        epsilon=1e-6,
        batch_size=2000,
    )
    x = all_x(ds)
    assert x.shape == (2000, 64) and info.whitening.method == "zca"
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(64), atol=2e-3)


def test_mean_removed_patches_whiten_to_identity_on_the_complement_of_dc(bsds_files):
    ds, info = load_image_patches(
        bsds_files, patch_size=8, patches_per_image=500, whiten="zca", epsilon=1e-6
    )
    x = all_x(ds)
    # ZCA with a tiny epsilon amplifies float32 round-off in the DC direction ~1000x.
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-2)
    eig = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))
    assert eig[0] < 1e-3  # the removed patch mean (DC) direction has no variance left
    np.testing.assert_allclose(eig[1:], 1.0, atol=2e-3)


def test_inverse_transform_recovers_the_pixel_patches(bsds_files):
    common = dict(patch_size=10, patches_per_image=300, shuffle=False, batch_size=5000, seed=3)
    raw_ds, raw_info = load_image_patches(bsds_files, normalize=False, **common)
    ds, info = load_image_patches(bsds_files, whiten="pca", epsilon=1e-3, **common)
    raw, white = all_x(raw_ds), all_x(ds)
    assert raw_info.scale is None and info.scale > 0
    assert not np.allclose(white, raw)
    np.testing.assert_allclose(info.undo_preprocessing(white), raw, atol=1e-4)
    assert raw.shape == (N_IMAGES * 300, 100)


def test_pca_dimension_reduction_and_labels(bsds_files):
    ds, info = load_image_patches(
        bsds_files,
        patch_size=12,
        patches_per_image=400,
        whiten="pca",
        n_components=30,
        epsilon=1e-6,
        with_labels=True,
        shuffle=False,
        batch_size=1600,
    )
    x, y = next(iter(ds))
    assert x.shape == (1600, 30) and info.element_shape == (30,)
    np.testing.assert_allclose(np.cov(x.numpy(), rowvar=False), np.eye(30), atol=2e-3)
    np.testing.assert_array_equal(y.numpy(), np.repeat(np.arange(N_IMAGES), 400))
    assert list(info.class_names) == [f.name for f in bsds_files]


def test_colour_unflattened_patches_and_held_out_images(bsds_files):
    ds, info = load_image_patches(
        bsds_files[:2], patch_size=12, patches_per_image=50, grayscale=False, flatten=False
    )
    assert next(iter(ds)).shape[1:] == (12, 12, 3) and info.element_shape == (12, 12, 3)
    held, held_info = load_image_patches(
        bsds_files[2:],
        patch_size=12,
        patches_per_image=50,
        grayscale=False,
        flatten=False,
        preprocessing_from=info,
    )
    assert held_info.scale == info.scale and held_info.split == "held-out"
    assert 0.5 < all_x(held).std() < 2.0


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*\.jpg"):
        load_image_patches(tmp_path / "nowhere")


def test_empty_folder_says_which_extensions(tmp_path):
    (tmp_path / "notes.txt").write_text("no photographs here")
    with pytest.raises(
        ValueError, match=rf"{tmp_path.name}.*holds no images.*\.jpg, \.jpeg, \.png"
    ):
        load_image_patches(tmp_path)


def test_corrupt_image_names_the_file(tmp_path):
    good = tf.io.encode_png(tf.zeros([20, 20, 3], tf.uint8)).numpy()
    (tmp_path / "a.png").write_bytes(good)
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff this is not really a jpeg")
    with pytest.raises(ValueError, match=r"b\.jpg.*cannot decode"):
        load_image_patches(tmp_path, patch_size=8)


def test_image_smaller_than_patch_names_file_and_size(tmp_path):
    (tmp_path / "big.png").write_bytes(tf.io.encode_png(tf.zeros([40, 30, 3], tf.uint8)).numpy())
    (tmp_path / "tiny.png").write_bytes(tf.io.encode_png(tf.zeros([10, 9, 1], tf.uint8)).numpy())
    with pytest.raises(ValueError, match=r"tiny\.png.*9x10 pixels.*12x12"):
        load_image_patches(tmp_path, patch_size=12)
