"""The tensorflow_datasets source for real, offline: tfds.load on a data_dir prepared here.

Each data set is prepared with tfds' own builder (the registered MNIST / CIFAR-10
builder, same name and version, with split generators that yield a few hundred
real images from ../shared/data instead of downloading), so `load_mnist` and
`load_cifar10` go through tfds' real reading code. The offline tests check what
a machine without network access gets: a fast, clear error naming the local files.
"""

import gzip
import socket
import struct
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

import keras_svae
from keras_svae.cli import train_main
from keras_svae.data import load_cifar10, load_cifar10_patches, load_mnist, read_mnist_idx
from keras_svae.data.cifar import RECORD_BYTES, read_cifar10_binary
from keras_svae.data.tfds_source import TfdsDownloadError, _lookup_error

N_TRAIN, N_TEST = 300, 200  # MNIST digits per split
N_CIFAR_TRAIN, N_CIFAR_TEST = 200, 100


def tiny_builder(registered, splits):
    """A subclass of tfds' registered builder that yields ``splits`` (name -> list of
    examples) instead of downloading. Same name and version, so tfds.load(<name>,
    data_dir=...) reads what it writes; unshuffled, so the order is the examples'."""

    class Tiny(registered, skip_registration=True):
        name = registered.name

        def _info(self):
            info = super()._info()
            info.as_proto.disable_shuffling = True
            return info

        def _split_generators(self, dl_manager):
            return {split: enumerate(examples) for split, examples in splits.items()}

    return Tiny


def all_batches(ds):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys)


def network_reachable(host):
    return _lookup_error(host) is None


@pytest.fixture(scope="module")
def mnist_digits(shared_data):
    train = [a[:N_TRAIN] for a in read_mnist_idx(shared_data / "mnist", "train")]
    test = [a[:N_TEST] for a in read_mnist_idx(shared_data / "mnist", "test")]
    return {"train": train, "test": test}


@pytest.fixture(scope="module")
def mnist_tfds_dir(mnist_digits, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_mnist")
    examples = {
        split: [{"image": x[..., None], "label": int(y)} for x, y in zip(*arrays)]
        for split, arrays in mnist_digits.items()
    }
    builder = tiny_builder(tfds.builder_cls("mnist"), examples)(data_dir=data_dir)
    assert (builder.name, str(builder.version)) == ("mnist", "3.0.1")
    builder.download_and_prepare()  # generates only: nothing to download
    return data_dir


@pytest.fixture(scope="module")
def cifar_files(shared_data, tmp_path_factory):
    """The first CIFAR-10 records of each split, as binary files."""
    folder = tmp_path_factory.mktemp("cifar_bin")
    sources = {
        "train": ("data_batch_1.bin", N_CIFAR_TRAIN),
        "test": ("test_batch_first1000.bin", N_CIFAR_TEST),
    }
    files = {}
    for split, (name, n) in sources.items():
        files[split] = folder / f"{split}_first{n}.bin"
        files[split].write_bytes((shared_data / "cifar10" / name).read_bytes()[: n * RECORD_BYTES])
    return files


@pytest.fixture(scope="module")
def cifar_tfds_dir(cifar_files, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_cifar10")
    examples = {}
    for split, path in cifar_files.items():
        images, labels = read_cifar10_binary(path)
        examples[split] = [
            {"id": f"{split}_{i:05d}", "image": x, "label": int(y)}
            for i, (x, y) in enumerate(zip(images, labels))
        ]
    builder = tiny_builder(tfds.builder_cls("cifar10"), examples)(data_dir=data_dir)
    assert (builder.name, str(builder.version)) == ("cifar10", "3.0.2")
    builder.download_and_prepare()
    return data_dir


def write_idx(folder, split, images, labels):
    stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]  # fmt: skip
    with gzip.open(folder / f"{stems[0]}.gz", "wb") as f:
        f.write(struct.pack(">iiii", 2051, *images.shape) + images.tobytes())
    with gzip.open(folder / f"{stems[1]}.gz", "wb") as f:
        f.write(struct.pack(">ii", 2049, len(labels)) + labels.tobytes())


# ------------------------------------------------------------------ MNIST
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.slow
def test_mnist_from_tfds_is_the_idx_digits(mnist_tfds_dir, mnist_digits, split):
    images, labels = mnist_digits[split]
    ds, info = load_mnist(
        source="tfds", tfds_data_dir=mnist_tfds_dir, download=False, split=split,
        scale=False, flatten=False, with_labels=True, shuffle=False, batch_size=64,
    )  # fmt: skip
    x, y = all_batches(ds)
    assert info.source == "tfds:mnist" and info.num_examples == len(images)
    np.testing.assert_array_equal(x, images[..., None].astype(np.float32))
    np.testing.assert_array_equal(y, labels)


@pytest.mark.slow
def test_mnist_tfds_and_idx_pipelines_are_identical_and_train(
    mnist_tfds_dir, mnist_digits, tmp_path
):
    write_idx(tmp_path, "train", *mnist_digits["train"])
    options = dict(split="train", binarize="dynamic", batch_size=100, seed=3)
    # download=True (the default) reads prepared data without any network access.
    ds, info = load_mnist(source="tfds", tfds_data_dir=mnist_tfds_dir, **options)
    idx_ds, idx_info = load_mnist(tmp_path, **options)
    for _ in range(2):  # two epochs: the same shuffles and binary draws
        for a, b in zip(ds, idx_ds, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert info.element_shape == idx_info.element_shape == (784,)

    model = keras_svae.SparseVAE(
        latent_dim=4, likelihood="bernoulli", encoder_units=(32,), decoder_units=(32,),
        data_shape=info.element_shape, seed=0,
    )  # fmt: skip
    model.compile()
    history = model.fit(ds, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_tfds_errors_unrelated_to_downloading_keep_their_message(mnist_tfds_dir):
    with pytest.raises(ValueError, match=r"Unknown split 'validation'") as error:
        load_mnist(source="tfds", tfds_data_dir=mnist_tfds_dir, split="validation")
    assert not isinstance(error.value, TfdsDownloadError)


def test_missing_tfds_data_without_download_says_where_and_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no prepared MNIST in .*mnist.3\.0\.1") as error:
        load_mnist(source="tfds", tfds_data_dir=tmp_path, download=False)
    assert "download=True" in str(error.value) and "path=<folder>" in str(error.value)


# ------------------------------------------------------------------ CIFAR-10
def test_cifar10_from_tfds_is_the_binary_records(cifar_tfds_dir, cifar_files):
    for split, path in cifar_files.items():
        images, labels = read_cifar10_binary(path)
        ds, info = load_cifar10(
            source="tfds", tfds_data_dir=cifar_tfds_dir, download=False, split=split,
            scale=False, with_labels=True, shuffle=False, batch_size=64,
        )  # fmt: skip
        x, y = all_batches(ds)
        assert info.source == "tfds:cifar10" and info.num_examples == len(images)
        np.testing.assert_array_equal(x, images.astype(np.float32))
        np.testing.assert_array_equal(y, labels)


@pytest.mark.slow
def test_cifar10_patches_from_tfds_equal_the_binary_ones_and_train(cifar_tfds_dir, cifar_files):
    options = dict(split="train", patch_size=8, patches_per_image=2, whiten="zca",
                   batch_size=100, seed=1)  # fmt: skip
    ds, info = load_cifar10_patches(source="tfds", tfds_data_dir=cifar_tfds_dir, **options)
    bin_ds, bin_info = load_cifar10_patches(cifar_files["train"], **options)
    for a, b in zip(ds, bin_ds, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert info.num_examples == bin_info.num_examples == 2 * N_CIFAR_TRAIN

    test_ds, _ = load_cifar10_patches(
        source="tfds", tfds_data_dir=cifar_tfds_dir, split="test", patch_size=8,
        whiten="zca", with_labels=True, preprocessing_from=info, shuffle=False,
    )  # fmt: skip
    _, test_labels = all_batches(test_ds)
    np.testing.assert_array_equal(test_labels, read_cifar10_binary(cifar_files["test"])[1])

    model = keras_svae.SparseVAE(
        latent_dim=4, decoder="linear", encoder_units=(32,), data_shape=info.element_shape,
        seed=0,
    )  # fmt: skip
    model.compile()
    history = model.fit(ds, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# ------------------------------------------------------------------ no network
OFFLINE_CASES = {
    "mnist": (
        "storage.googleapis.com",
        lambda data_dir: load_mnist(source="tfds", tfds_data_dir=data_dir),
        r"could not download MNIST \(no network access\?\).*load_mnist\(path=<folder>\) with the "
        r"four MNIST IDX files train-images-idx3-ubyte\.gz.*--data-dir <folder>",
    ),
    "cifar10": (
        "www.cs.toronto.edu",
        lambda data_dir: load_cifar10(source="tfds", tfds_data_dir=data_dir),
        r"could not download CIFAR-10 \(no network access\?\).*path=<folder> with the CIFAR-10 "
        r"binary version.*--data-dir <folder>",
    ),
    "cifar10_patches": (
        "www.cs.toronto.edu",
        lambda data_dir: load_cifar10_patches(source="tfds", tfds_data_dir=data_dir),
        r"could not download CIFAR-10 \(no network access\?\).*data_batch_1\.bin",
    ),
}


@pytest.mark.parametrize("case", sorted(OFFLINE_CASES))
@pytest.mark.parametrize("network", ["this machine's", "resolver blocked"])
def test_download_without_network_fails_fast_naming_the_local_files(
    case, network, tmp_path, monkeypatch
):
    host, load, message = OFFLINE_CASES[case]
    if network == "resolver blocked":

        def no_resolver(*args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", no_resolver)
    elif network_reachable(host):
        pytest.skip(f"{host} resolves: this machine has network access")
    start = time.perf_counter()
    with pytest.raises(TfdsDownloadError, match=message) as error:
        load(tmp_path)
    assert time.perf_counter() - start < 60
    assert isinstance(error.value, ConnectionError) and isinstance(error.value.__cause__, OSError)
    assert host in str(error.value)
    assert not (tmp_path / "downloads").exists()  # tfds was never asked to download


def test_command_line_without_network_says_use_data_dir(tmp_path, capsys):
    if network_reachable("storage.googleapis.com"):
        pytest.skip("storage.googleapis.com resolves: this machine has network access")
    if tfds.builder("mnist").is_prepared():
        pytest.skip("MNIST is prepared in tfds' default data_dir: no download needed")
    start = time.perf_counter()
    code = train_main(["--data", "mnist", "--epochs", "1", "--out", str(tmp_path)])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert elapsed < 60
    assert "keras-svae-train: error: tensorflow_datasets could not download MNIST" in err
    assert "no network access?" in err and "--data-dir <folder>" in err
    assert "Traceback" not in err
