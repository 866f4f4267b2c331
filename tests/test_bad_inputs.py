"""The bad-input catalogue (docs/bad-inputs.md): one test per row.

Every row feeds one bad input to the real code (TensorFlow, files on disk, the
command lines' entry points in-process) and checks the error's type and a
distinctive part of its message. Test ids are the catalogue's row numbers.
"""

import contextlib
import gzip
import io
import json
import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_svae import ICA, SparseVAE, evaluation
from keras_svae import data as loaders
from keras_svae.cli import export_main, generate_main, train_main
from keras_svae.experiment import ExperimentConfig
from keras_svae.export import ExportError, GenerateError, Generator, export_decoder
from keras_svae.export.sampling import sample_prior


# ------------------------------------------------------------------ helpers
def rows(*cases):
    """pytest.param for each (row number, *values), with the row as its id."""
    return [pytest.param(*values, id=f"row{number}") for number, *values in cases]


def exit_code_and_stderr(main, argv, capsys):
    """Run a command line's entry point in-process: (exit code, stderr).

    argparse errors leave by SystemExit; the checks of the library return the
    code. Either way nothing may print a traceback."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


def assert_cli_error(main, argv, capsys, message, code=2):
    got, err = exit_code_and_stderr(main, argv, capsys)
    assert got == code, err
    assert re.search(message, err), err


X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")


def small_model(**kwargs):
    options = dict(latent_dim=2, data_shape=(4,), decoder="linear", encoder_units=(8,), seed=0)
    model = SparseVAE(**{**options, **kwargs})
    model.compile()
    return model


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved model, a truncated copy, a model with a Lambda layer and an export."""
    root = tmp_path_factory.mktemp("bad-inputs")
    good = small_model()
    good.save(root / "model.keras")
    content = (root / "model.keras").read_bytes()
    (root / "truncated.keras").write_bytes(content[: len(content) // 2])
    (root / "corrupt.keras").write_bytes(b"this is not a zip archive")
    code = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda z: z * 2.0)])
    code.add(keras.layers.Dense(4))
    SparseVAE(latent_dim=2, data_shape=(4,), decoder=code).save(root / "lambda.keras")
    export_decoder(good, root / "exported", parity_samples=20)
    (root / "a_file").write_text("not a folder")
    return root


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process cannot write: a read-only folder, or (for root,
    which ignores permission bits) /sys, where even root creates no files."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


def write_idx(folder, images, labels, truncate=0):
    folder.mkdir(parents=True, exist_ok=True)
    header = np.array([2051, len(images), 28, 28], ">i4").tobytes()
    content = header + images.astype(np.uint8).tobytes()
    (folder / "train-images-idx3-ubyte").write_bytes(content[: len(content) - truncate])
    label_header = np.array([2049, len(labels)], ">i4").tobytes()
    (folder / "train-labels-idx1-ubyte").write_bytes(
        label_header + labels.astype(np.uint8).tobytes()
    )
    return folder


def cifar_records(n, label=1):
    records = np.random.default_rng(0).integers(0, 256, size=(n, 3073), dtype=np.uint8)
    records[:, 0] = label
    return records.tobytes()


def png_folder(folder, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        tf.io.write_file(str(folder / f"{i}.png"), tf.io.encode_png(pixels))
    return folder


# -------------------------------------------------- API: the constructor
@pytest.mark.parametrize(
    "kwargs, error, message",
    rows(
        (1, {"latent_dim": 0}, ValueError, r"latent_dim must be an integer >= 1, got 0"),
        (2, {"latent_dim": -3}, ValueError, r"latent_dim must be an integer >= 1, got -3"),
        (3, {"latent_dim": "10"}, ValueError, r"latent_dim must be an integer >= 1, got '10'"),
        (4, {"prior": "gamma"}, ValueError, r"Unknown prior 'gamma'.*'normal', 'laplace'"),
        (5, {"posterior": "gamma"}, ValueError, r"Unknown posterior 'gamma'"),
        (6, {"likelihood": "poisson"}, ValueError, r"Unknown likelihood 'poisson'"),
        (7, {"kl": "exact"}, ValueError, r"Unknown kl mode 'exact'.*'analytic'"),
        (8, {"prior_scale": -1.0}, ValueError, r"prior_scale must be a positive finite"),
        (9, {"likelihood_scale": 0.0}, ValueError, r"likelihood_scale must be a positive"),
        (10, {"beta": -0.5}, ValueError, r"beta must be a finite number >= 0"),
        (11, {"n_samples": 0}, ValueError, r"n_samples must be an integer >= 1, got 0"),
        (12, {"decoder": "rnn", "data_shape": None}, ValueError, r"Unknown decoder 'rnn'"),
        (13, {"encoder": "rnn", "data_shape": None}, ValueError, r"Unknown encoder 'rnn'"),
        (14, {"seed": "abc"}, ValueError, r"seed must be an integer or None in \[0, 2\*\*32"),
        (15, {"seed": 1.5}, ValueError, r"seed must be an integer or None"),
        (16, {"metadata": [1, 2]}, ValueError, r"metadata must be a dict.*got list"),
        (17, {"metadata": {"f": object()}}, ValueError, r"metadata must hold only values JSON"),
        (18, {"data_shape": (0,)}, ValueError, r"Each example needs a known shape, got \(0,\)"),
        (
            19,
            {"encoder": "conv", "decoder": "conv", "data_shape": (10, 10, 1)},
            ValueError,
            r"divisible by 4.*\(10, 10, 1\)",
        ),
    ),
)
def test_constructor(kwargs, error, message):
    options = {"latent_dim": 2, "data_shape": (4,), "encoder_units": (8,), **kwargs}
    with pytest.raises(error, match=message):
        SparseVAE(**options)


# -------------------------------------------------- API: fit / evaluate
@pytest.mark.parametrize(
    "call, message",
    rows(
        (20, lambda m: m.fit(X, epochs=0, verbose=0), r"epochs must be an integer >= 1, got 0"),
        (21, lambda m: m.fit(X, epochs=-1, verbose=0), r"epochs must be an integer >= 1, got -1"),
        (
            22,
            lambda m: m.fit(X, epochs=2, initial_epoch=3, verbose=0),
            r"initial_epoch must be an integer in \[0, 2\), got 3",
        ),
        (23, lambda m: m.fit(X, batch_size=0, verbose=0), r"batch_size must be an integer >= 1"),
        (24, lambda m: m.fit(X, batch_size=-4, verbose=0), r"batch_size .* got -4"),
        (25, lambda m: m.fit(X[:0], verbose=0), r"The data is empty \(shape \(0, 4\)\)"),
        (
            26,
            lambda m: m.fit(np.where(np.arange(4) == 2, np.nan, X), verbose=0),
            r"32 NaN or Inf values \(the first in example 0\)",
        ),
        (
            27,
            lambda m: m.fit(
                tf.data.Dataset.from_tensor_slices(np.full((8, 4), np.inf, "float32")).batch(4),
                verbose=0,
            ),
            r"The data contains NaN or Inf values",
        ),
        (
            28,
            lambda m: m.fit(np.zeros((8, 5), "float32"), verbose=0),
            r"shape \(5,\), but this model was built for examples of shape \(4,\)",
        ),
        (29, lambda m: m.fit(X[0], verbose=0), r"must have a batch axis.*x\[None\]"),
        (30, lambda m: m.fit(np.array([["a"] * 4]), verbose=0), r"Data must be numeric"),
        (31, lambda m: m.fit(X, X, verbose=0), r"takes no labels \(y\)"),
        (32, lambda m: m.fit(X, class_weight={0: 1.0}, verbose=0), r"class_weight needs class"),
        (
            33,
            lambda m: m.fit(tf.data.Dataset.from_tensor_slices(X).batch(8).take(0), verbose=0),
            r"The dataset is empty",
        ),
        (
            34,
            lambda m: m.fit(tf.data.Dataset.from_tensor_slices(X), verbose=0),
            r"looks unbatched.*dataset.batch\(n\)",
        ),
        (
            35,
            lambda m: m.fit(X * 1e9, verbose=0),
            r"\|x\| = .* beyond 1e\+08.*Standardise",
        ),
        (36, lambda m: m.evaluate(X * np.nan, verbose=0), r"128 NaN or Inf values"),
        (37, lambda m: m.evaluate(np.zeros((8, 5)), verbose=0), r"built for examples of shape"),
        (38, lambda m: m.compile(loss="mse"), r"SparseVAE.compile takes no loss="),
    ),
)
def test_fit_and_evaluate(call, message):
    model = small_model()
    before = [v.numpy().copy() for v in model.trainable_variables]
    with pytest.raises(ValueError, match=message):
        call(model)
    for old, variable in zip(before, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(old, variable.numpy())  # nothing was trained


def test_bernoulli_data_outside_the_unit_interval():  # row 39
    model = small_model(likelihood="bernoulli")
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs data in \[0, 1\]"):
        model.fit(np.abs(X) * 255, verbose=0)


def test_fit_before_compile():  # row 40
    model = SparseVAE(latent_dim=2, data_shape=(4,))
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before"):
        model.fit(X, verbose=0)


# ----------------------------------------- API: encode / decode / sample
@pytest.mark.parametrize(
    "call, message",
    rows(
        (41, lambda m: m.encode(X * np.nan), r"128 NaN or Inf values \(the first in example 0\)"),
        (42, lambda m: m.encode(np.zeros((3, 5))), r"built for examples of shape \(4,\)"),
        (43, lambda m: m.encode(tf.data.Dataset.from_tensor_slices(X)), r"not a tf.data.Dataset"),
        (44, lambda m: m.decode(np.full((2, 2), np.nan)), r"z contains 4 NaN or Inf values"),
        (45, lambda m: m.decode(np.zeros((2, 3))), r"z must have shape \(n, 2\), got \(2, 3\)"),
        (46, lambda m: m.decode([["a", "b"]]), r"z must hold numbers"),
        (47, lambda m: m.sample(0), r"n must be an integer >= 1, got 0"),
        (48, lambda m: m.sample(2, seed="abc"), r"seed must be an integer or None"),
        (49, lambda m: m.reconstruct(X[:, :3]), r"shape \(3,\).*shape \(4,\)"),
    ),
)
def test_encode_decode_sample(model, call, message):
    with pytest.raises(ValueError, match=message) as caught:
        call(model)
    assert "before training" not in str(caught.value)  # encode/decode are not training


@pytest.mark.parametrize("method", ["sample", "decode"])
def test_unbuilt_model(method):  # row 50
    model = SparseVAE(latent_dim=2)
    call = {"sample": lambda: model.sample(2), "decode": lambda: model.decode(np.zeros((1, 2)))}
    with pytest.raises(ValueError, match=r"not built yet.*Pass data_shape="):
        call[method]()


# ---------------------------------------------------- API: save / load
@pytest.mark.parametrize(
    "name, message",
    rows(
        (51, "m.h5", r"model.save needs a file name ending in .keras, got '.*m.h5'"),
        (52, "m", r"model.save needs a file name ending in .keras"),
    ),
)
def test_save_needs_a_keras_file_name(model, tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        model.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_save_weights_needs_a_weights_file_name(model, tmp_path):  # row 53
    with pytest.raises(ValueError, match=r"model.save_weights needs a file name ending in"):
        model.save_weights(tmp_path / "w.keras")
    assert list(tmp_path.iterdir()) == []


def test_save_under_a_regular_file(model, files):  # row 54
    with pytest.raises(NotADirectoryError, match=r"a_file is a file, not a folder"):
        model.save(files / "a_file" / "m.keras")
    assert (files / "a_file").read_text() == "not a folder"


def test_save_into_an_unwritable_folder(model, unwritable):  # row 55
    with pytest.raises(PermissionError, match=r"is not writable"):
        model.save(unwritable / "m.keras")
    assert not (unwritable / "m.keras").exists()


def test_save_without_overwrite(model, files):  # row 56
    before = (files / "model.keras").read_bytes()
    with pytest.raises(FileExistsError, match=r"exists; pass overwrite=True"):
        model.save(files / "model.keras", overwrite=False)
    assert (files / "model.keras").read_bytes() == before


def test_load_a_keras_file_with_code_is_refused(files):  # row 57
    with pytest.raises(ValueError, match=r"deserialization of a `Lambda` layer.*arbitrary code"):
        keras.models.load_model(files / "lambda.keras")


@pytest.mark.parametrize("name", ["corrupt.keras", "truncated.keras"])
def test_load_a_corrupt_keras_file(files, name):  # row 58
    with pytest.raises(ValueError, match=r"Please ensure the file is an accessible `.keras`"):
        keras.models.load_model(files / name)


# --------------------------------------------------------- data loaders
def test_mnist_missing_folder(tmp_path):  # row 59
    with pytest.raises(FileNotFoundError, match=r"MNIST folder .*nope does not exist"):
        loaders.load_mnist(tmp_path / "nope")


def test_mnist_folder_without_idx_files(tmp_path):  # row 60
    with pytest.raises(FileNotFoundError, match=r"has no train-images-idx3-ubyte.gz"):
        loaders.load_mnist(tmp_path)


def test_mnist_truncated_idx_file(tmp_path):  # row 61
    folder = write_idx(tmp_path / "m", np.zeros((3, 28, 28)), np.zeros(3), truncate=100)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: .*the file is truncated"):
        loaders.load_mnist(folder)


@pytest.mark.slow
def test_mnist_real_file_truncated(shared_data, tmp_path):  # row 62
    real = gzip.decompress((shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    shutil.copy(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(real[: -784 * 10 - 5]))
    with pytest.raises(ValueError, match=r"announces shape \(10000, 28, 28\).*truncated"):
        loaders.load_mnist(tmp_path, split="test")


def test_mnist_corrupt_gzip(tmp_path):  # row 63
    folder = write_idx(tmp_path / "m", np.zeros((3, 28, 28)), np.zeros(3))
    (folder / "train-labels-idx1-ubyte").unlink()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match=r"cannot decompress.*Download the file again"):
        loaders.load_mnist(folder)


def test_mnist_swapped_files(tmp_path):  # row 64
    folder = write_idx(tmp_path / "m", np.zeros((3, 28, 28)), np.zeros(3))
    (folder / "train-labels-idx1-ubyte").write_bytes(np.array([2051, 3], ">i4").tobytes())
    with pytest.raises(ValueError, match=r"magic number 2051 \(images\).*names swapped"):
        loaders.load_mnist(folder)


def test_mnist_path_is_a_file(tmp_path):  # row 65
    folder = write_idx(tmp_path / "m", np.zeros((3, 28, 28)), np.zeros(3))
    with pytest.raises(NotADirectoryError, match=r"MNIST path .* is a file; pass the folder"):
        loaders.load_mnist(folder / "train-images-idx3-ubyte")


@pytest.mark.parametrize(
    "kwargs, message",
    rows(
        (66, {"binarize": "otsu"}, r"Unknown binarize mode 'otsu'"),
        (67, {"binarize": "threshold", "threshold": 1.5}, r"threshold must be in \[0, 1\)"),
        (68, {"split": "validation"}, r"Unknown split 'validation'.*'train', 'test'"),
        (69, {"source": "http"}, r"Unknown MNIST source 'http'"),
        (70, {"batch_size": 10, "drop_remainder": True}, r"drop_remainder=True with 3 examples"),
    ),
)
def test_mnist_options(tmp_path, kwargs, message):
    folder = write_idx(tmp_path / "m", np.zeros((3, 28, 28)), np.zeros(3))
    with pytest.raises(ValueError, match=message):
        loaders.load_mnist(folder, **kwargs)


def test_cifar_truncated_binary(tmp_path):  # row 71
    (tmp_path / "data_batch_1.bin").write_bytes(cifar_records(2)[:-10])
    with pytest.raises(ValueError, match=r"6136 bytes is not a whole number of 3073-byte"):
        loaders.load_cifar10(tmp_path)


def test_cifar_real_file_truncated(shared_data, tmp_path):  # row 72
    real = (shared_data / "cifar10" / "test_batch_first1000.bin").read_bytes()
    (tmp_path / "test_batch.bin").write_bytes(real[: 3073 * 5 + 100])
    with pytest.raises(ValueError, match=r"15465 bytes is not a whole number.*truncated"):
        loaders.load_cifar10(tmp_path, split="test")


def test_cifar_bad_label_byte(tmp_path):  # row 73
    (tmp_path / "data_batch_1.bin").write_bytes(cifar_records(2, label=42))
    with pytest.raises(ValueError, match=r"label byte 42, not 0-9"):
        loaders.load_cifar10(tmp_path)


def test_cifar_pickle_is_never_unpickled(tmp_path):  # row 74
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04 a pickle")
    with pytest.raises(ValueError, match=r"'python version' \(pickle format\).*never unpickles"):
        loaders.load_cifar10(tmp_path)


def test_cifar_folder_without_the_split(tmp_path):  # row 75
    (tmp_path / "data_batch_1.bin").write_bytes(cifar_records(2))
    with pytest.raises(FileNotFoundError, match=r"has no test_batch\*.bin files"):
        loaders.load_cifar10(tmp_path, split="test")


def test_cifar_missing_path(tmp_path):  # row 76
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 file .*nope does not exist"):
        loaders.load_cifar10(tmp_path / "nope")


@pytest.mark.parametrize(
    "kwargs, message",
    rows(
        (77, {"patch_size": 40}, r"smaller than the 40x40 patch"),
        (78, {"whiten": "pcaa"}, r"Unknown whiten method 'pcaa'.*'pca', 'zca'"),
        (79, {"patch_size": 0}, r"patch_size must be an integer >= 1, got 0"),
        (80, {"split": "test"}, r"fitted on training data only.*preprocessing_from"),
    ),
)
def test_cifar_patch_options(tmp_path, kwargs, message):
    (tmp_path / "data_batch_1.bin").write_bytes(cifar_records(4))
    (tmp_path / "test_batch.bin").write_bytes(cifar_records(4))
    with pytest.raises(ValueError, match=message):
        loaders.load_cifar10_patches(tmp_path, **kwargs)


def test_image_folder_without_images(tmp_path):  # row 81
    (tmp_path / "readme.txt").write_text("no photographs here")
    with pytest.raises(ValueError, match=rf"Image folder {re.escape(str(tmp_path))} holds no"):
        loaders.load_image_patches(tmp_path)


def test_image_folder_missing(tmp_path):  # row 82
    with pytest.raises(FileNotFoundError, match=r"Image folder .*nope does not exist"):
        loaders.load_image_patches(tmp_path / "nope")


def test_image_corrupt_file(tmp_path):  # row 83
    (tmp_path / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"a.jpg: cannot decode image"):
        loaders.load_image_patches(tmp_path)


def test_image_smaller_than_the_patch(tmp_path):  # row 84
    png_folder(tmp_path, [(8, 8)])
    with pytest.raises(ValueError, match=r"0.png: image is 8x8 pixels, smaller than the 12x12"):
        loaders.load_image_patches(tmp_path, patch_size=12)


@pytest.mark.parametrize(
    "call, message",
    rows(
        (85, lambda: loaders.load_toy(0), r"num_examples must be an integer >= 1, got 0"),
        (86, lambda: loaders.load_toy(10, presence_prob=2), r"presence_prob must be a prob"),
        (
            87,
            lambda: loaders.load_toy(10, amplitude_range=(1.0, 0.5)),
            r"amplitude_range must be \(low, high\) with 0 <= low <= high",
        ),
        (88, lambda: loaders.load_toy(10, width=-1.0), r"width must be a positive finite"),
        (89, lambda: loaders.load_synthetic(10, noise_std=-0.1), r"noise_std must be a finite"),
        (90, lambda: loaders.load_synthetic(10, seed=-1), r"seed must be in \[0, 2\*\*32 - 1\]"),
        (91, lambda: loaders.load_synthetic(0), r"n must be an integer >= 1, got 0"),
        (92, lambda: loaders.make_dataset(np.zeros((0, 3))), r"make_dataset got no examples"),
        (
            93,
            lambda: loaders.make_dataset(np.full((3, 3), np.nan)),
            r"make_dataset got features with NaN or Inf values",
        ),
        (
            94,
            lambda: loaders.make_dataset(np.zeros((3, 3)), labels=np.zeros(2)),
            r"3 examples but 2 labels",
        ),
        (
            95,
            lambda: loaders.make_dataset(np.zeros((3, 3)), map_batch=3),
            r"map_batch must be a function",
        ),
        (
            96,
            lambda: loaders.make_dataset(np.array([["a"]])),
            r"make_dataset needs numeric features",
        ),
    ),
)
def test_generated_data_and_make_dataset(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------ evaluation
@pytest.mark.parametrize(
    "call, message",
    rows(
        (97, lambda m: evaluation.iwae(m, X, k=0, progress=False), r"k must be an integer >= 1"),
        (98, lambda m: evaluation.iwae(m, X * np.nan, k=2, progress=False), r"x contains NaN"),
        (
            99,
            lambda m: evaluation.elbo(SparseVAE(latent_dim=2), X),
            r"The model is not built, so its data shape is unknown",
        ),
        (
            100,
            lambda m: evaluation.hoyer_sparsity(np.ones((5, 1))),
            r"latent_codes has 1 columns; this needs at least 2",
        ),
        (
            101,
            lambda m: evaluation.explained_variance(X, X[:, :3]),
            r"x has shape \(32, 4\) but reconstructions has shape \(32, 3\)",
        ),
        (
            102,
            lambda m: evaluation.basis_recovery(np.zeros((2, 4)), np.zeros((3, 5))),
            r"Each pattern has 4 values but each true basis has 5",
        ),
        (
            103,
            lambda m: evaluation.knn_accuracy(X[:, :2], None),
            r"Separability needs the examples' class labels",
        ),
        (
            104,
            lambda m: evaluation.knn_accuracy(X[:, :2], np.zeros(32)),
            r"labels hold 1 distinct class\(es\)",
        ),
    ),
)
def test_evaluation(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)


# ------------------------------------------------ command line: training
FAST = ["--prior", "laplace", "--iwae-k", "2", "--n-eval", "10"]


@pytest.mark.parametrize(
    "argv, message",
    rows(
        (105, ["--epochs", "0"], r"error: epochs must be an integer >= 1, got 0"),
        (106, ["--batch-size", "0"], r"error: batch_size must be an integer >= 1, got 0"),
        (107, ["--batch-size", "-4"], r"error: batch_size must be an integer >= 1, got -4"),
        (108, ["--latent-dim", "0"], r"error: latent_dim must be an integer >= 1, got 0"),
        (109, ["--learning-rate", "-1"], r"error: learning_rate must be a finite number"),
        (110, ["--beta", "-1"], r"error: beta must be a finite number >= 0"),
        (111, ["--n-samples", "0"], r"error: n_samples must be an integer >= 1"),
        (112, ["--kl-warmup-epochs", "-1"], r"error: kl_warmup_epochs must be an integer >= 0"),
        (113, ["--seed", "-1"], r"argument --seed: must be an integer in \[0, 2\*\*32 - 1\]"),
        (114, ["--decoder", "conv"], r"argument --decoder: invalid choice: 'conv'"),
        (115, ["--prior", "gamma"], r"argument --prior: invalid choice: 'gamma'"),
        (116, ["--data", "imagenet"], r"argument --data: invalid choice: 'imagenet'"),
        (117, ["--epochs", "ten"], r"argument --epochs: invalid int value: 'ten'"),
        (118, ["--data", "bsds"], r"error: --data bsds needs --data-dir"),
    ),
)
def test_train_command_line(tmp_path, capsys, argv, message):
    assert_cli_error(train_main, [*FAST, "--out", str(tmp_path / "runs"), *argv], capsys, message)
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_train_out_under_a_regular_file(files, capsys):  # row 119
    out = files / "a_file" / "runs"
    message = r"error: --out .*a_file/runs cannot be created: .*a_file is a file, not a folder"
    assert_cli_error(train_main, [*FAST, "--epochs", "1", "--out", str(out)], capsys, message)
    assert (files / "a_file").read_text() == "not a folder"


def test_train_out_is_a_regular_file(files, capsys):  # row 120
    out = files / "a_file"
    message = r"error: --out .*a_file is a file, not a folder"
    assert_cli_error(train_main, [*FAST, "--epochs", "1", "--out", str(out)], capsys, message)


def test_train_out_unwritable(unwritable, capsys):  # row 121
    out = unwritable / "runs"
    message = r"error: --out .*runs cannot be written: .* is not writable"
    assert_cli_error(train_main, [*FAST, "--epochs", "1", "--out", str(out)], capsys, message)
    assert not out.exists()


def test_train_bsds_folder_without_images(tmp_path, capsys):  # row 122
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "notes.txt").write_text("no images")
    argv = [*FAST, "--data", "bsds", "--data-dir", str(tmp_path / "photos")]
    message = rf"error: {re.escape(str(tmp_path / 'photos'))} holds 0 JPEG/PNG photographs"
    assert_cli_error(train_main, [*argv, "--out", str(tmp_path / "runs")], capsys, message)


def test_train_missing_data_dir(tmp_path, capsys):  # row 123
    argv = [*FAST, "--data", "bsds", "--data-dir", str(tmp_path / "nope")]
    message = r"error: --data-dir .*nope is not a folder"
    assert_cli_error(train_main, [*argv, "--out", str(tmp_path / "runs")], capsys, message)


def test_train_mnist_folder_without_idx_files(tmp_path, capsys):  # row 124
    argv = [*FAST, "--data", "mnist", "--data-dir", str(tmp_path)]
    message = r"error: MNIST folder .* has no train-images-idx3-ubyte.gz"
    assert_cli_error(train_main, [*argv, "--out", str(tmp_path / "runs")], capsys, message)


def test_train_cifar_truncated_binary(tmp_path, capsys):  # row 125
    (tmp_path / "data_batch_1.bin").write_bytes(cifar_records(3)[:-1])
    argv = [*FAST, "--data", "cifar", "--data-dir", str(tmp_path)]
    message = r"error: .*data_batch_1.bin: 9218 bytes is not a whole number"
    assert_cli_error(train_main, [*argv, "--out", str(tmp_path / "runs")], capsys, message)


# ------------------------------------------------- command line: export
@pytest.mark.parametrize(
    "model_name, message",
    rows(
        (126, "missing.keras", r"export: error: Model file not found"),
        (127, "corrupt.keras", r"export: error: Cannot load .*corrupt or not a Keras 3"),
        (128, "truncated.keras", r"export: error: Cannot load .*corrupt or not a Keras 3"),
        (129, "lambda.keras", r"export: error: Refused to load .*lambda.keras: it holds Python"),
        (130, "a_file", r"export: error: .*a_file is not a .keras file"),
    ),
)
def test_export_bad_model_file(files, tmp_path, capsys, model_name, message):
    argv = ["--model", str(files / model_name), "--out", str(tmp_path / "out")]
    assert_cli_error(export_main, argv, capsys, message, code=1)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message, code",
    rows(
        (131, ["--parity-seed", "-1"], r"argument --parity-seed: must be an integer in", 2),
        (132, ["--parity-samples", "0"], r"export: error: parity_samples must be >= 1", 1),
        (133, ["--quantize", "int4"], r"argument --quantize: invalid choice: 'int4'", 2),
    ),
)
def test_export_bad_options(files, tmp_path, capsys, extra, message, code):
    argv = ["--model", str(files / "model.keras"), "--out", str(tmp_path / "out"), *extra]
    assert_cli_error(export_main, argv, capsys, message, code=code)
    assert not (tmp_path / "out").exists()


def test_export_existing_folder(files, capsys):  # row 134
    argv = ["--model", str(files / "model.keras"), "--out", str(files / "exported")]
    assert_cli_error(export_main, argv, capsys, r"already exists.*--overwrite", code=1)


def test_export_out_under_a_regular_file(files, capsys):  # row 135
    argv = ["--model", str(files / "model.keras"), "--out", str(files / "a_file" / "out")]
    assert_cli_error(export_main, argv, capsys, r"a_file is not a writable folder", code=1)


def test_export_with_a_negative_parity_seed_in_python(model, tmp_path):  # row 136
    with pytest.raises(ExportError, match=r"parity_seed must be an integer in \[0, 2\*\*32"):
        export_decoder(model, tmp_path / "out", parity_seed=-1)


# ----------------------------------------------- command line: generate
@pytest.mark.parametrize(
    "extra, message, code",
    rows(
        (137, ["--seed", "-1"], r"argument --seed: must be an integer in \[0, 2\*\*32 - 1\]", 2),
        (138, ["--n", "0"], r"generate: error: --n must be >= 1, got 0", 1),
        (139, ["--threads", "0"], r"argument --threads: must be an integer >= 1, got '0'", 2),
        (140, ["--variant", "int8"], r"argument --variant: invalid choice: 'int8'", 2),
        (141, ["--variant", "float16"], r"has no float16 TFLite file.*--quantize float16", 1),
        (142, ["--npz", "NOPE/z.npz"], r"Cannot write --npz .*z.npz: folder .*nope does not", 1),
        (143, ["--out", "FILE/g.png"], r"Cannot write --out .*folder .*a_file is a file", 1),
    ),
)
def test_generate_bad_options(files, tmp_path, capsys, extra, message, code):
    extra = [e.replace("NOPE", str(tmp_path / "nope")) for e in extra]
    extra = [e.replace("FILE", str(files / "a_file")) for e in extra]
    argv = [str(files / "exported"), "--out", str(tmp_path / "grid.png"), *extra]
    assert_cli_error(generate_main, argv, capsys, message, code=code)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "damage, message",
    rows(
        (144, "missing", r"generate: error: Export folder not found"),
        (145, "tflite", r"Cannot load .*decoder.tflite with LiteRT: .*corrupt"),
        (146, "json", r"Cannot read .*export.json"),
        (147, "empty-json", r"is not an export.json written by `python -m export`"),
    ),
)
def test_generate_damaged_export(files, tmp_path, capsys, damage, message):
    folder = tmp_path / "copy"
    if damage != "missing":
        shutil.copytree(files / "exported", folder)
    if damage == "tflite":
        (folder / "decoder.tflite").write_bytes(b"not a flatbuffer")
    elif damage == "json":
        (folder / "export.json").write_text("{not json")
    elif damage == "empty-json":
        (folder / "export.json").write_text("{}")
    argv = [str(folder), "--out", str(tmp_path / "grid.png")]
    assert_cli_error(generate_main, argv, capsys, message, code=1)
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.parametrize(
    "call, message",
    rows(
        (148, lambda g: g.decode(np.full((2, 2), np.nan)), r"z contains NaN or Inf values"),
        (149, lambda g: g.generate(3, seed=-1), r"seed must be an integer in \[0, 2\*\*32"),
        (150, lambda g: g.generate(3, seed="a"), r"seed must be an integer"),
    ),
)
def test_generator_api(files, call, message):
    with pytest.raises(GenerateError, match=message):
        call(Generator(files / "exported"))


def test_generator_unknown_variant(files):  # row 151
    with pytest.raises(GenerateError, match=r"Unknown variant 'int8'.*'float32'"):
        Generator(files / "exported", variant="int8")


def test_export_json_records_what_was_written(files):
    """The export the generate rows use is a real, complete one."""
    info = json.loads((files / "exported" / "export.json").read_text())
    assert info["latent_dim"] == 2 and "float32" in info["tflite"]


# ------------------------------------- the sparse-coding family's options
@pytest.mark.parametrize(
    "kwargs, message",
    rows(
        (152, {"prior": "laplace", "posterior": "cauchy"}, r"KL is infinite"),
        (
            153,
            {"prior": "laplace", "posterior": "spike_slab"},
            r"cannot be paired with the Laplace prior",
        ),
        (154, {"prior": "student_t", "prior_df": 0.0}, r"prior_df \(the Student-t degrees"),
        (155, {"prior": "spike_slab", "slab_probability": 1.5}, r"slab_probability"),
        (156, {"posterior": "laplace", "threshold": -0.1}, r"threshold must be a finite number"),
        (157, {"prior": "cauchy", "threshold": 0.1}, r"exact zeros for the 'normal' and"),
        (158, {"posterior": "laplace", "threshold": 0.1, "objective": "iwae"}, r"needs log q"),
        (159, {"objective": "mle"}, r"Unknown objective 'mle'"),
        (160, {"scale_activation": "relu"}, r"Unknown scale_activation 'relu'"),
        (161, {"activation": "swishy"}, r"activation must be None or the name of a Keras"),
    ),
)
def test_family_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseVAE(latent_dim=2, data_shape=(4,), encoder_units=(8,), **kwargs)


def test_steps_per_epoch_the_execution_size_does_not_divide():  # row 167
    model = SparseVAE(latent_dim=2, data_shape=(4,), encoder_units=(8,), seed=0)
    model.compile(steps_per_execution=4)
    data = tf.data.Dataset.from_tensor_slices(np.zeros((100, 4), "float32")).batch(10).repeat()
    with pytest.raises(ValueError, match=r"steps_per_epoch=10 is not a multiple of the compiled"):
        model.fit(data, epochs=1, steps_per_epoch=10, verbose=0)
    assert int(model.optimizer.iterations) == 0  # refused before any step


def test_posterior_collapse_of_a_sampled_kl():  # row 168
    model = SparseVAE(latent_dim=2, prior="student_t", data_shape=(4,), encoder_units=(8,))
    with pytest.raises(ValueError, match=r"posterior_collapse needs a closed-form KL"):
        evaluation.posterior_collapse(model, np.zeros((5, 4), "float32"))


def test_elbo_of_a_cauchy_posterior():  # row 172
    model = small_model(prior="cauchy", likelihood="bernoulli")
    with pytest.raises(ValueError, match=r"The ELBO of a Cauchy posterior is minus infinity"):
        evaluation.elbo(model, (X > 0).astype("float32"))


@pytest.mark.parametrize("threshold", [[0.1], [-1.0, 0.0], [float("nan"), 0.1]])
def test_exported_prior_with_a_bad_threshold(threshold):  # row 173
    prior = {"family": "laplace", "loc": [0.0, 0.0], "scale": [1.0, 1.0], "threshold": threshold}
    with pytest.raises(ValueError, match=r"'threshold' must hold one finite number >= 0 per"):
        sample_prior(prior, 3)


@pytest.mark.parametrize(
    "argv, message",
    rows(
        (162, ["--posterior", "cauchy"], r"error: The cauchy posterior cannot be paired"),
        (163, ["--prior", "student_t", "--prior-df", "0"], r"error: prior_df \(the Student-t"),
        (164, ["--prior", "cauchy", "--threshold", "0.1"], r"error: --threshold gives exact"),
        (165, ["--strategy", "multi-worker"], r"error: --strategy multi-worker needs the cluster"),
        (166, ["--checkpoint-steps", "0"], r"argument --checkpoint-steps: must be an integer >= 1"),
        (169, ["--prior", "spike_slab", "--prior-scale", "0"], r"error: prior_scale must be a"),
        (170, ["--threshold-prior", "2,20"], r"error: threshold_prior .* --threshold learned only"),
        (171, ["--threshold", "learned", "--threshold-prior", "2"], r"--threshold-prior: must be"),
    ),
)
def test_train_command_line_family_and_scale(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert_cli_error(train_main, [*FAST, "--out", str(tmp_path / "runs"), *argv], capsys, message)


@pytest.mark.parametrize(
    "metrics, message",
    rows((188, {"test_kl": 3.0}, r"needs the finite number 'explained_variance' among the")),
)
def test_model_collapsed_without_its_numbers(metrics, message):
    with pytest.raises(ValueError, match=message):
        evaluation.model_collapsed(metrics)
    # NaN is no number either.
    with pytest.raises(ValueError, match=r"needs the finite number 'test_kl'.*got nan"):
        evaluation.model_collapsed({"explained_variance": 0.5, "test_kl": float("nan")})


@pytest.mark.parametrize("level", [pytest.param(0.95, id="row189")])
def test_paired_verdict_level(level):
    from keras_svae.reproduce import paired_verdict

    with pytest.raises(ValueError, match=r"level is the significance level of a one-sided test"):
        paired_verdict([0.1, 0.2, 0.3], level=level)


@pytest.mark.parametrize(
    "call, message",
    rows(
        (180, lambda c: evaluation.active_latents(c, kl=[1.0] * 3, kl_margin=0),
         r"kl_margin must be a number > 0, got 0\."),
        (181, lambda c: evaluation.active_latents(c, kl=[1.0, 1.0]),
         r"kl has 2 latents but latent_codes has 3; pass both for the same model"),
        (182, lambda c: evaluation.active_latents(c, kl=[1.0] * 3, scale=0.0),
         r"scale \(the prior's scale\) must be finite and > 0, got 0\.0"),
        (183, lambda c: evaluation.hoyer_sparsity(c, informative=[0, 1]),
         r"informative must be a boolean mask with one entry per latent, shape \(3,\)"),
        (184, lambda c: evaluation.basis_recovery_chance(np.eye(5), 10, n_draws=1),
         r"n_draws must be at least 2 for an interval, got 1"),
    ),
)  # fmt: skip
def test_informative_latents_bad_input(call, message):
    codes = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=message):
        call(codes)


@pytest.mark.parametrize(
    "call, message",
    rows(
        (174, lambda m: evaluation.iwae(X, m), r"first argument must be the trained model"),
        (175, lambda m: evaluation.hoyer_sparsity(tf.data.Dataset.from_tensor_slices(X)),
         r"latent_codes must be a numpy array, got a tf.data.Dataset; pass a numpy array"),
        (176, lambda m: evaluation.active_units(X),
         r"active_units takes \(model, x\), or codes with their KL per latent"),
        (177, lambda m: evaluation.codes(m, tf.data.Dataset.from_tensor_slices(X).repeat()),
         r"x is an infinite tf.data.Dataset \(it repeats\); pass a finite one"),
        (178, lambda m: evaluation.explained_variance(X, m),
         r"reconstructions must be a numpy array, got a SparseVAE model; pass model.reconstruct"),
    ),
)  # fmt: skip
def test_evaluation_arguments_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(small_model())


def test_unbatched_dataset_of_2d_examples():  # row 196
    images = np.random.default_rng(0).random((40, 8, 8)).astype("float32")
    model = SparseVAE(latent_dim=2, encoder_units=(8,), decoder_units=(8,), seed=0)
    model.compile()
    with pytest.raises(ValueError, match=r"shape \(8, 8\), which looks unbatched.*batch\(n\)"):
        model.fit(tf.data.Dataset.from_tensor_slices(images).map(lambda x: x * 2), verbose=0)
    assert model.data_shape is None  # refused before a model was built for rows
    built = SparseVAE(latent_dim=2, data_shape=(8, 8), encoder_units=(8,), seed=0)
    built.compile()
    with pytest.raises(ValueError, match=r"looks unbatched.*dataset.batch\(n\)"):
        built.fit(tf.data.Dataset.from_tensor_slices(images), verbose=0)
    # Batched, with or without a known batch size, trains.
    for batched in (
        tf.data.Dataset.from_tensor_slices(images).batch(20),
        tf.data.Dataset.from_tensor_slices(images).shuffle(40, seed=0).batch(20, True),
    ):
        fresh = SparseVAE(latent_dim=2, encoder_units=(8,), decoder_units=(8,), seed=0)
        fresh.compile()
        fresh.fit(batched, epochs=1, verbose=0)
        assert fresh.data_shape == (8, 8)


@pytest.mark.slow
def test_train_rerun_with_other_settings(tmp_path, capsys):  # row 197
    out = tmp_path / "runs"
    argv = [*FAST, "--out", str(out)]
    assert train_main([*argv, "--epochs", "1"]) == 0
    metrics = out / "synthetic-laplace-z10" / "metrics.json"
    before = metrics.read_bytes()
    message = r"holds a finished run with other settings: epochs 1 there, 2 now.*--overwrite"
    assert_cli_error(train_main, [*argv, "--epochs", "2"], capsys, message)
    assert metrics.read_bytes() == before  # the finished run is untouched
    assert train_main([*argv, "--epochs", "2", "--overwrite"]) == 0
    assert json.loads(metrics.read_text())["config"]["epochs"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["synthetic-laplace-z10"]  # nothing left


def test_generate_out_of_another_kind(files, tmp_path, capsys):  # row 198
    folder = str(files / "exported")
    message = r"generate: error: --out .*grid.jpg must end in .png or .npy; .* pass .*grid.png"
    assert_cli_error(generate_main, [folder, "--out", str(tmp_path / "grid.jpg")], capsys,
                     message, code=1)  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    # .npy writes the samples themselves (was: a PNG under that name).
    assert generate_main([folder, "--n", "5", "--seed", "3", "--out", str(tmp_path / "s.npy")]) == 0
    images, _ = Generator(files / "exported").generate(5, seed=3)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]


def test_image_summaries_of_a_shape_that_does_not_fit(tmp_path):  # row 199
    from keras_svae.callbacks import ImageSummaries

    model = small_model()
    images = ImageSummaries(tmp_path, X[:4], image_shape=(3, 3))
    message = r"image_shape=\(3, 3\) does not fit examples of shape \(4,\).*multiply to 4\."
    with pytest.raises(ValueError, match=message):
        model.fit(X, epochs=2, batch_size=8, verbose=0, callbacks=[images])
    assert int(model.optimizer.iterations) == 0  # at the start, not after the first epoch


def test_plot_patterns_of_a_model():  # row 200
    from keras_svae import plots

    with pytest.raises(
        ValueError, match=r"Got a SparseVAE: pass evaluation.latent_patterns\(model\)"
    ):
        plots.plot_patterns(small_model())


def test_validation_split_that_leaves_no_examples():  # row 201
    model = small_model()  # seeded: fit orders the arrays itself and splits them as Keras does
    with pytest.raises(ValueError, match=r"validation_split=1.0 leaves no training or no valid"):
        model.fit(X, validation_split=1.0, verbose=0)
    assert int(model.optimizer.iterations) == 0


def test_warn_on_collapse_of_one_example():  # row 202
    from keras_svae.callbacks import WarnOnCollapse

    with pytest.raises(ValueError, match=r"WarnOnCollapse needs at least 2 examples .*\(1, 4\)"):
        WarnOnCollapse(X[:1])


def test_warn_on_collapse_of_examples_of_another_shape():  # row 203
    from keras_svae.callbacks import WarnOnCollapse

    model = small_model()
    check = WarnOnCollapse(np.zeros((10, 5), np.float32))
    with pytest.raises(ValueError, match=r"x has shape \(5,\), but the model expects \(4,\)"):
        model.fit(X, epochs=2, batch_size=8, verbose=0, callbacks=[check])
    assert int(model.optimizer.iterations) == 0  # at the start, not after training


def test_likelihood_scale_of_bernoulli_data(tmp_path, capsys):  # row 204
    from keras_svae.experiment import ExperimentConfig, run_variant

    out = tmp_path / "runs"
    message = r"likelihood_scale is the Gaussian .* the toy data have a bernoulli likelihood"
    with pytest.raises(ValueError, match=message + r".*\(likelihood_scale=None\)"):
        run_variant(ExperimentConfig(data="toy", likelihood_scale=0.1), out)
    argv = ["--data", "toy", "--prior", "laplace", "--likelihood-scale", "0.1", "--out", str(out)]
    assert_cli_error(train_main, argv, capsys, message + r".*\(--likelihood-scale unset\)")
    assert not out.exists() or not list(out.iterdir())  # nothing trained or written


ICA_X = np.random.default_rng(0).laplace(size=(40, 4)).astype("float32")


@pytest.mark.parametrize(
    "call, message",
    rows(
        (210, lambda: ICA().fit(ICA_X[:, 0]),
         r"ICA takes x of shape \(examples, features\), one example per row, got shape \(40,\)"),
        (211, lambda: ICA(n_components=5).fit(ICA_X),
         r"n_components=5 is more than the 4 features .* Pass n_components <= 4"),
        (212, lambda: ICA().fit(ICA_X * [1.0, 1.0, 1.0, np.nan]),
         r"x contains 40 NaN or Inf values; ICA needs finite data"),
        (213, lambda: ICA().fit(ICA_X[:3]),
         r"x holds 3 examples, fewer than the 4 components: FastICA would drop"),
        (214, lambda: ICA(data_shape=(4,)).encode(ICA_X),
         r"This ICA is not fitted yet, so it cannot encode: call fit\(x\) first"),
        (215, lambda: ICA(fun="tanh"), r"fun must be one of \('logcosh', 'exp', 'cube'\)"),
    ),
)  # fmt: skip
def test_ica(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------ API: the notebooks' quirks (218-224)
@pytest.mark.parametrize(
    "kwargs, message",
    rows(
        (218, dict(noise="fixed"), r"noise='fixed' draws one \[batch_size, latent_dim\] noise .*"
         r"pass noise_batch_size=<the training batch size>"),
        (219, dict(prior="spike_slab", noise="fixed", noise_batch_size=32),
         r"needs a location-scale posterior \(normal, laplace, cauchy\), not 'spike_slab'"),
        (220, dict(noise_batch_size=32), r"with noise='fresh' .* drop them, or pass noise='fixed'"),
        (221, dict(noise="fixed", noise_batch_size=32, noise_alpha=3),
         r"noise_alpha is an alpha-stable law's index, in \(0, 2\] .* got 3"),
        (223, dict(prior="cauchy", scale_activation="exp", kl_quirk="variance_as_scale"),
         r"needs posterior='normal' and prior='normal' .*, not 'cauchy' and 'cauchy'"),
        (224, dict(prior="normal", kl_quirk="variance_as_scale"),
         r"whose scale is exp\(l\); it needs scale_activation='exp'"),
    ),
)  # fmt: skip
def test_notebook_quirk_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseVAE(latent_dim=2, data_shape=(4,), encoder_units=(8,), **kwargs)


def test_fixed_noise_batch_of_another_size():  # row 222
    model = small_model(prior="cauchy", noise="fixed", noise_batch_size=16)
    message = r"noise='fixed' holds one noise matrix for batches of 16 examples; .* batch_size=16"
    before = [w.numpy() for w in model.trainable_weights]
    with pytest.raises(ValueError, match=message):
        model.fit(X, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(before, model.trainable_weights, strict=True):
        np.testing.assert_array_equal(a, b)  # the step trained nothing
    model.fit(X, epochs=1, batch_size=16, verbose=0)  # 32 examples: two batches of 16


def test_unknown_preset():  # row 225
    from keras_svae.reproduce.grid import experiment_config, load_experiments

    spec = load_experiments(Path(__file__).resolve().parents[1] / "training" / "configs")["toy"]
    message = r"Unknown preset 'authors'. Valid choices: 'library', 'paper', 'author'."
    with pytest.raises(ValueError, match=message):
        experiment_config(spec, "authors", "normal", seed=0)


@pytest.mark.parametrize(
    "argv, message",
    [
        pytest.param(["--preset", "paper,author", "--seeds", "paper=1"],
                     "error: --seeds 'paper=1': give one count, or one per preset of the grid "
                     "(paper=N, author=N); 'author' has none.", id="row230"),
        pytest.param(["--experiments", "mnist"],
                     "error: --experiments 'mnist': mnist is not an experiment file; choose from "
                     "cifar, mnist-z10, mnist-z2, synthetic, toy.", id="row231"),
        pytest.param(["--preset", "paper,paper"],
                     "error: --preset 'paper,paper' names a preset twice.", id="row232"),
        pytest.param(["--quick", "--paper-length"],
                     "error: A paper-length grid cannot be quick: choose one of the two.",
                     id="row233"),
    ],
)  # fmt: skip
def test_reproduce_choices_on_the_command_line(tmp_path, argv, message):
    from training import reproduce

    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = reproduce.main(["--out", str(tmp_path / "grid"), *argv])
    assert code == 2 and err.getvalue().strip() == message, err.getvalue()
    assert not (tmp_path / "grid").exists()  # refused before anything is written


@pytest.mark.parametrize("row", ["row234"])
def test_an_experiment_file_with_a_bad_paper_length(tmp_path, row):
    from keras_svae.reproduce.grid import load_experiments

    text = (Path(__file__).resolve().parents[1] / "training" / "configs" / "toy.toml").read_text()
    (tmp_path / "toy.toml").write_text(text.replace("paper_epochs = 100", "paper_epochs = 0"))
    message = r"toy.toml: paper_epochs is the paper's number of epochs, a positive integer; got 0."
    with pytest.raises(ValueError, match=message):
        load_experiments(tmp_path)


# ------------------------------ API: the noise options that are methods (226-229)
@pytest.mark.parametrize(
    "make, message",
    rows(
        (226, lambda: SparseVAE(latent_dim=2, data_shape=(4,), noise="epoch"),
         r"noise='epoch' draws one \[batch_size, latent_dim\] noise .*"
         r"pass noise_batch_size=<the training batch size>"),
        (227, lambda: SparseVAE(latent_dim=2, data_shape=(4,), prior="cauchy", noise="quasi",
                                noise_batch_size=32, noise_alpha=1.0),
         r"noise='quasi' maps Sobol points through the posterior family's inverse CDF; .* "
         r"Drop noise_alpha, or pass noise='epoch'"),
        (229, lambda: ExperimentConfig(prior="cauchy", clipnorm=0),
         r"clipnorm must be a positive finite number, got 0."),
    ),
)  # fmt: skip
def test_noise_methods_and_clipping(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_epoch_noise_batch_of_another_size():  # row 228
    model = small_model(prior="cauchy", noise="epoch", noise_batch_size=16)
    message = r"noise='epoch' holds one noise matrix for batches of 16 examples; .* batch_size=16"
    with pytest.raises(ValueError, match=message):
        model.fit(X, epochs=1, batch_size=8, verbose=0)
