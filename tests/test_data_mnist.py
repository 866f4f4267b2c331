"""MNIST: IDX parsing (real files and hand-made ones), options, errors, tfds path."""

import gzip
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_svae.data.mnist import load_mnist, read_idx, read_mnist_idx


def first_batch(ds):
    return next(iter(ds))


def write_idx_images(path, images, magic=2051):
    data = struct.pack(">iiii", magic, *images.shape) + images.astype(np.uint8).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data)


def write_idx_labels(path, labels, magic=2049):
    data = struct.pack(">ii", magic, len(labels)) + np.asarray(labels, np.uint8).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data)


@pytest.fixture(scope="module")
def mnist_dir(shared_data):
    return shared_data / "mnist"


@pytest.fixture(scope="module")
def mnist_test_arrays(mnist_dir):
    return read_mnist_idx(mnist_dir, "test")


def test_real_idx_counts_and_first_labels(mnist_dir, mnist_test_arrays):
    train_images, train_labels = read_mnist_idx(mnist_dir, "train")
    test_images, test_labels = mnist_test_arrays
    assert train_images.shape == (60000, 28, 28) and train_labels.shape == (60000,)
    assert test_images.shape == (10000, 28, 28) and test_labels.shape == (10000,)
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(train_labels).min() > 5000  # every digit well represented


def test_load_mnist_idx_test_split_in_order(mnist_dir, mnist_test_arrays):
    ds, info = load_mnist(mnist_dir, split="test", with_labels=True, batch_size=100, flatten=False)
    x, y = first_batch(ds)
    images, labels = mnist_test_arrays
    assert info.num_examples == 10000 and info.element_shape == (28, 28, 1)
    assert info.source == str(mnist_dir)
    assert x.shape == (100, 28, 28, 1) and x.dtype == "float32"
    assert y.numpy()[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    np.testing.assert_allclose(x.numpy()[..., 0], images[:100] / 255.0, atol=1e-7)


def test_value_range_scale_and_flatten(mnist_dir):
    x = first_batch(load_mnist(mnist_dir, split="test", batch_size=500)[0]).numpy()
    assert x.shape == (500, 784)
    assert x.min() == 0.0 and x.max() == 1.0
    ds, info = load_mnist(mnist_dir, split="test", batch_size=500, scale=False)
    x255 = first_batch(ds).numpy()
    assert info.value_range == (0.0, 255.0) and x255.max() == 255.0
    np.testing.assert_allclose(x255 / 255.0, x, atol=1e-7)


def test_threshold_binarisation(mnist_dir, mnist_test_arrays):
    ds, info = load_mnist(
        mnist_dir, split="test", batch_size=200, binarize="threshold", threshold=0.3
    )
    x = first_batch(ds).numpy()
    images = mnist_test_arrays[0][:200].reshape(200, -1)
    np.testing.assert_array_equal(x, (images / 255.0 > 0.3).astype(np.float32))
    again = first_batch(ds).numpy()
    np.testing.assert_array_equal(x, again)  # fixed: the same at every pass


def test_dynamic_binarisation_resamples_each_epoch_reproducibly(mnist_dir, mnist_test_arrays):
    def make(seed):
        return load_mnist(mnist_dir, split="test", batch_size=1000, binarize="dynamic", seed=seed)[
            0
        ]

    ds = make(5)
    e1, e2 = first_batch(ds).numpy(), first_batch(ds).numpy()
    assert set(np.unique(e1)) <= {0.0, 1.0}
    assert not np.array_equal(e1, e2), "dynamic binarisation should re-sample at each pass"
    ds_again = make(5)
    np.testing.assert_array_equal(first_batch(ds_again).numpy(), e1)
    np.testing.assert_array_equal(first_batch(ds_again).numpy(), e2)
    assert not np.array_equal(first_batch(make(6)).numpy(), e1)
    # Bernoulli(intensity): black pixels stay 0, white pixels 1, and the mean matches.
    p = mnist_test_arrays[0][:1000].reshape(1000, -1) / 255.0
    assert np.all(e1[p == 0] == 0) and np.all(e1[p == 1] == 1)
    np.testing.assert_allclose(e1.mean(), p.mean(), rtol=0.02)


def test_train_split_shuffles_with_labels_aligned(mnist_dir):
    ds, info = load_mnist(mnist_dir, with_labels=True, batch_size=64, seed=1)
    assert info.num_examples == 60000 and info.steps_per_epoch == 938
    x, y = first_batch(ds)
    assert y.numpy()[:10].tolist() != [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert x.shape == (64, 784) and y.dtype == "int32"


def test_hand_made_idx_round_trip_plain_and_gzip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], np.uint8)
    write_idx_images(tmp_path / "t10k-images-idx3-ubyte", images)  # un-gzipped
    write_idx_labels(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), images)
    ds, info = load_mnist(tmp_path, split="test", with_labels=True, batch_size=7, flatten=False)
    x, y = first_batch(ds)
    np.testing.assert_array_equal(y.numpy(), labels)
    np.testing.assert_allclose(x.numpy()[..., 0], images / 255.0, atol=1e-7)


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx_images(path, np.zeros((2, 28, 28)), magic=1234)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz.*magic number 1234"):
        read_idx(path)


def test_swapped_files_are_detected(tmp_path):
    write_idx_images(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((2, 28, 28)))
    write_idx_images(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*2051.*expected 2049"):
        read_mnist_idx(tmp_path, "test")


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_truncated_idx_names_the_file(tmp_path, name):
    full = struct.pack(">iiii", 2051, 10, 28, 28) + bytes(10 * 784)
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(full[:5000]))
    else:
        path.write_bytes(full[:5000])
    with pytest.raises(ValueError, match=rf"{name}.*truncated"):
        read_idx(path)


def test_damaged_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">ii", 2049, 100) + bytes(100))[:30])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz"):
        read_idx(path)


def test_missing_folder_and_files_say_what_is_expected(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"nowhere.*train-images-idx3-ubyte\.gz.*source=\"tfds\""
    ):
        load_mnist(tmp_path / "nowhere")
    write_idx_images(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    with pytest.raises(FileNotFoundError, match=r"no train-labels-idx1-ubyte\.gz"):
        load_mnist(tmp_path)


def test_bad_options(mnist_dir):
    with pytest.raises(ValueError, match="binarize"):
        load_mnist(mnist_dir, split="test", binarize="otsu")
    with pytest.raises(ValueError, match="split"):
        load_mnist(mnist_dir, split="validation")


def test_tfds_source_offline_with_mock_data():
    with tfds.testing.mock_data(num_examples=12):
        ds, info = load_mnist(
            source="tfds", split="test", with_labels=True, batch_size=5, binarize="dynamic"
        )
        batches = list(ds)
    assert info.num_examples == 12 and info.source == "tfds:mnist"
    assert [b[0].shape[0] for b in batches] == [5, 5, 2]
    x = np.concatenate([b[0].numpy() for b in batches])
    assert x.shape == (12, 784) and set(np.unique(x)) <= {0.0, 1.0}
    y = np.concatenate([b[1].numpy() for b in batches])
    assert y.min() >= 0 and y.max() <= 9
