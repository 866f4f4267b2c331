"""CIFAR-10: binary records, 12x12 patches and their statistics, errors, tfds path."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_svae.data.cifar import (
    CIFAR10_CLASS_NAMES,
    cifar10_files,
    load_cifar10,
    load_cifar10_patches,
    read_cifar10_binary,
)
from keras_svae.data.patches import random_patches

TEST_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


@pytest.fixture(scope="module")
def cifar_dir(shared_data):
    return shared_data / "cifar10"


@pytest.fixture(scope="module")
def test_file(cifar_dir):
    return cifar_dir / "test_batch_first1000.bin"


@pytest.fixture(scope="module")
def test_arrays(test_file):
    return read_cifar10_binary(test_file)


@pytest.fixture(scope="module")
def train_patches(cifar_dir):
    """12x12 grey patches of data_batch_1 with scale fitted on them."""
    return load_cifar10_patches(
        cifar_dir, patch_size=12, patches_per_image=2, batch_size=4096, seed=0
    )


def all_x(ds):
    return np.concatenate([(b[0] if isinstance(b, tuple) else b).numpy() for b in ds])


def test_binary_records_and_first_labels(test_arrays):
    images, labels = test_arrays
    assert images.shape == (1000, 32, 32, 3) and images.dtype == np.uint8
    assert labels[:10].tolist() == TEST_LABELS
    assert np.bincount(labels, minlength=10).min() > 50


def test_record_layout_is_label_then_planar_rgb(tmp_path):
    rng = np.random.default_rng(0)
    records = rng.integers(0, 256, size=(3, 3073), dtype=np.uint8)
    records[:, 0] = [2, 0, 9]
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(records.tobytes())
    images, labels = read_cifar10_binary(path)
    assert labels.tolist() == [2, 0, 9]
    for n, row, col, channel in [(0, 0, 0, 0), (1, 5, 31, 1), (2, 31, 7, 2), (2, 17, 3, 0)]:
        assert images[n, row, col, channel] == records[n, 1 + channel * 1024 + row * 32 + col]


def test_folder_globbing_per_split(cifar_dir):
    assert [f.name for f in cifar10_files(cifar_dir, "train")] == ["data_batch_1.bin"]
    assert [f.name for f in cifar10_files(cifar_dir, "test")] == ["test_batch_first1000.bin"]


def test_whole_images_in_order(test_file, test_arrays):
    ds, info = load_cifar10(test_file, split="test", with_labels=True, batch_size=10)
    x, y = next(iter(ds))
    assert info.num_examples == 1000 and info.class_names == CIFAR10_CLASS_NAMES
    assert y.numpy().tolist() == TEST_LABELS
    np.testing.assert_allclose(x.numpy(), test_arrays[0][:10] / 255.0, atol=1e-7)


def test_downsampled_12x12_patches_keep_labels_and_image_means(test_file, test_arrays):
    ds, info = load_cifar10_patches(
        test_file,
        split="test",
        mode="downsample",
        grayscale=False,
        remove_mean=False,
        normalize=False,
        flatten=False,
        with_labels=True,
        batch_size=1000,
    )
    x, y = next(iter(ds))
    x, y = x.numpy(), y.numpy()
    assert info.element_shape == (12, 12, 3) and x.shape == (1000, 12, 12, 3)
    np.testing.assert_array_equal(y, test_arrays[1])  # each patch keeps its image's label
    # Area averaging preserves each image's mean colour exactly (up to float error).
    np.testing.assert_allclose(
        x.mean(axis=(1, 2)), test_arrays[0].mean(axis=(1, 2)) / 255.0, atol=1e-5
    )


def test_area_downsampling_is_block_averaging_for_integer_factors(test_file, test_arrays):
    ds, _ = load_cifar10_patches(
        test_file,
        split="test",
        patch_size=16,
        mode="downsample",
        grayscale=False,
        remove_mean=False,
        normalize=False,
        flatten=False,
        shuffle=False,
        batch_size=50,
    )
    blocks = test_arrays[0][:50].reshape(50, 16, 2, 16, 2, 3).mean(axis=(2, 4)) / 255.0
    np.testing.assert_allclose(next(iter(ds)).numpy(), blocks, atol=1e-5)


def test_random_patches_are_crops_of_their_source_image(test_arrays):
    images = test_arrays[0][:20]
    patches, source = random_patches(images, 12, 3, seed=4)
    assert (
        patches.shape == (60, 12, 12, 3) and source.tolist() == np.repeat(np.arange(20), 3).tolist()
    )
    windows = np.lib.stride_tricks.sliding_window_view(images, (12, 12), axis=(1, 2))
    for patch, i in zip(patches, source):
        hits = np.all(windows[i].transpose(0, 1, 3, 4, 2) == patch, axis=(2, 3, 4))
        assert hits.any()
    again, _ = random_patches(images, 12, 3, seed=4)
    np.testing.assert_array_equal(patches, again)
    assert not np.array_equal(patches, random_patches(images, 12, 3, seed=5)[0])


def test_patch_statistics_zero_mean_and_unit_global_std(train_patches):
    ds, info = train_patches
    x = all_x(ds)
    assert x.shape == (20000, 144) and info.element_shape == (144,)
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-5)  # per-patch mean removed
    np.testing.assert_allclose(x.std(), 1.0, rtol=1e-4)  # global scaling
    assert info.scale > 0 and info.value_range[0] < 0 < info.value_range[1]


def test_test_split_reuses_training_scale(test_file, train_patches):
    _, train_info = train_patches
    with pytest.raises(ValueError, match="preprocessing_from"):
        load_cifar10_patches(test_file, split="test")
    ds, info = load_cifar10_patches(
        test_file,
        split="test",
        patches_per_image=2,
        preprocessing_from=train_info,
        with_labels=True,
        shuffle=False,
        batch_size=2000,
    )
    assert info.scale == train_info.scale
    x, y = next(iter(ds))
    assert 0.9 < x.numpy().std() < 1.1  # same distribution, training scale
    assert y.numpy()[:20:2].tolist() == TEST_LABELS
    with pytest.raises(ValueError, match="patch_size=12 vs 8"):
        load_cifar10_patches(test_file, split="test", patch_size=8, preprocessing_from=train_info)


def test_colour_patches_with_whitening(test_file):
    ds, info = load_cifar10_patches(
        test_file,
        split="train",
        grayscale=False,
        patches_per_image=4,
        whiten="pca",
        n_components=40,
        epsilon=1e-6,
        batch_size=4000,
    )
    x = all_x(ds)
    assert info.element_shape == (40,) and info.whitening.input_dim == 432
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(40), atol=1e-3)


def test_non_whole_record_count_names_the_file(tmp_path):
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes(3073 * 2 + 100))
    with pytest.raises(ValueError, match=r"data_batch_1\.bin.*6246 bytes.*3073-byte"):
        read_cifar10_binary(path)


def test_label_byte_out_of_range_names_the_file(tmp_path):
    path = tmp_path / "test_batch.bin"
    path.write_bytes(bytes([12]) + bytes(3072))
    with pytest.raises(ValueError, match=r"test_batch\.bin.*label byte 12"):
        read_cifar10_binary(path)


def test_pickle_format_refused(tmp_path):
    py_dir = tmp_path / "cifar-10-batches-py"
    py_dir.mkdir()
    # Bytes that begin like a pickle (protocol 2); never unpickled by anyone.
    (py_dir / "data_batch_1").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match=r"cifar-10-batches-py.*pickle.*cifar-10-binary\.tar\.gz"):
        load_cifar10(py_dir)
    with pytest.raises(ValueError, match=r"data_batch_1 .*pickle"):
        load_cifar10(py_dir / "data_batch_1")
    renamed = tmp_path / "mystery.bin"
    renamed.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match=r"mystery\.bin.*pickle"):
        read_cifar10_binary(renamed)


def test_missing_and_empty_folders_say_what_is_expected(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"nowhere.*data_batch_1\.bin.*cifar-10-binary\.tar\.gz"
    ):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"no data_batch_\*\.bin.*source=\"tfds\""):
        load_cifar10_patches(tmp_path)


def test_tfds_source_offline_with_mock_data():
    with tfds.testing.mock_data(num_examples=10):
        ds, info = load_cifar10(source="tfds", split="test", with_labels=True, batch_size=4)
        x, y = next(iter(ds))
        pds, pinfo = load_cifar10_patches(source="tfds", mode="downsample", batch_size=10)
        p = next(iter(pds)).numpy()
    assert info.source == "tfds:cifar10" and info.num_examples == 10
    assert x.shape == (4, 32, 32, 3) and x.numpy().min() >= 0.0 and x.numpy().max() <= 1.0
    assert p.shape == (10, 144) and pinfo.num_examples == 10
    np.testing.assert_allclose(p.std(), 1.0, rtol=1e-4)
