"""The data of each experiment: a training pipeline, held-out arrays, and how
the model should treat them (likelihood, noise scale) and show them."""

import dataclasses
import math
from pathlib import Path

import numpy as np

from keras_svae import data as loaders
from keras_svae.data.mnist import pixel_batch_fn
from keras_svae.data.patches import patch_pipeline
from keras_svae.experiment.config import PAPER_LAMBDA
from keras_svae.experiment.presets import preset

# The seed of the held-out patches' crops: every seed of a run is scored on
# the same test patches (the whitening is fitted on each seed's training crops).
TEST_PATCH_SEED = 0


@dataclasses.dataclass
class ExperimentData:
    """Training data (array or tf.data pipeline), test arrays, and how the model
    should treat and show them.

    Attributes:
        train: the training data: an array, or a batched tf.data pipeline.
        x_test: the test examples, a numpy array.
        likelihood: "gaussian" or "bernoulli", the data's likelihood.
        likelihood_scale: the Gaussian likelihood's scale.
        learn_likelihood_scale: whether that scale is learned.
        labels_test: the test labels, or None.
        label_kind: "class" or "amplitude" (what the labels are), or None.
        clean_test: the test data before noise where it is known (synthetic),
            so reconstructions can be scored against the signal as well.
        true_bases: the generating bases where known (synthetic), or None.
        noise_variance: the data's known noise variance, or None.
        info: the `DatasetInfo` of the training pipeline, if any.
    """

    train: object
    x_test: np.ndarray
    likelihood: str
    likelihood_scale: float = 1.0
    learn_likelihood_scale: bool = False
    labels_test: np.ndarray | None = None
    label_kind: str | None = None  # "class" or "amplitude"
    clean_test: np.ndarray | None = None
    true_bases: np.ndarray | None = None
    noise_variance: float | None = None
    info: object = None  # the DatasetInfo of the training pipeline, if any

    @property
    def num_train(self):
        return self.info.num_examples if self.info is not None else len(self.train)

    def for_display(self, x, difference=False):
        """Map model-space examples back to images (undo whitening, reshape);
        ``difference=True`` for patterns (differences of decodes), which
        un-whiten without the whitening mean."""
        x = np.asarray(x)
        if self.info is None:
            return x
        patch_shape = self.info.preprocessing.get("patch_shape")
        if self.info.whitening is not None or self.info.scale is not None:
            x = self.info.undo_preprocessing(x, difference=difference)
        if patch_shape:
            return x.reshape(len(x), *patch_shape)
        return x


def dataset_arrays(dataset):
    """Materialise a (small) test pipeline of (x, label) batches as arrays."""
    xs, labels = [], []
    for x, label in dataset.as_numpy_iterator():
        xs.append(x)
        labels.append(label)
    return np.concatenate(xs), np.concatenate(labels)


def _photographs(config):
    if config.data_dir is None:
        raise ValueError("--data bsds needs --data-dir: a folder with JPEG/PNG photographs.")
    folder = Path(config.data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"--data-dir {folder} is not a folder.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(files) < 2:
        raise ValueError(
            f"{folder} holds {len(files)} JPEG/PNG photographs; --data bsds needs at least 2 "
            "(one for testing)."
        )
    return files


def load_experiment_data(config):
    """The training pipeline and test arrays for ``config.data``.

    The preset ``config.recipe`` (``keras_svae.experiment.presets``) says how:
    with ``"library"`` MNIST is binarised dynamically (each epoch draws new
    binary digits from the grey values; the test set is binarised once,
    seeded), the standard protocol under which a Bernoulli likelihood is a
    normalised likelihood. With ``"paper"`` and ``"author"`` the data are made
    as in the paper author's notebooks and the likelihood is Gaussian with the
    fixed scale sqrt(lam / 2) of its loss "squared error + lam * KL"
    (``PAPER_LAMBDA``). ``config.likelihood*`` fields override either (a
    ``likelihood_scale`` only for a Gaussian likelihood);
    ``max_train`` / ``max_test`` keep the first examples (photographs,
    ``bsds``: ``max_train`` lowers the random patches per training photograph
    to ceil(max_train / photographs), so every photograph still contributes).

    Args:
        config: the run's `ExperimentConfig`.

    Returns:
        An `ExperimentData`: the training pipeline, test arrays, likelihood
        settings and what the data know (labels, true bases, noise).

    Raises:
        ValueError: for a ``likelihood_scale`` with a Bernoulli likelihood, and
            for data files that are missing or unreadable.
    """
    data = _load(config)
    if config.max_test is not None:
        keep = slice(0, config.max_test)
        data = dataclasses.replace(
            data,
            x_test=data.x_test[keep],
            labels_test=None if data.labels_test is None else data.labels_test[keep],
            clean_test=None if data.clean_test is None else data.clean_test[keep],
        )
    if preset(config.recipe).squared_error and config.data in PAPER_LAMBDA:
        scale = math.sqrt(PAPER_LAMBDA[config.data] / 2.0)
        data = dataclasses.replace(data, likelihood="gaussian", likelihood_scale=scale,
                                   learn_likelihood_scale=False)  # fmt: skip
    overrides = {
        key: getattr(config, key)
        for key in ("likelihood", "likelihood_scale", "learn_likelihood_scale")
        if getattr(config, key) is not None
    }
    data = dataclasses.replace(data, **overrides)
    if data.likelihood != "gaussian" and config.likelihood_scale is not None:
        raise ValueError(  # a Bernoulli likelihood has no scale: it would be ignored
            f"likelihood_scale is the Gaussian likelihood's noise scale, but the {config.data} "
            f"data have a {data.likelihood} likelihood, which has none. Leave it out "
            "(likelihood_scale=None), or choose likelihood='gaussian' in the config."
        )
    return data


def _first(x, limit):
    return x if limit is None else x[:limit]


def _synthetic(config):
    seed = config.seed
    n_train = min(config.n_train, config.max_train or config.n_train)
    if preset(config.recipe).synthetic == "clipped":

        def make(n, s):
            return loaders.paper_synthetic_patches(
                n, seed=s, basis_seed=seed, coefficients=config.coefficients
            )

        train, test = make(n_train, seed), make(config.n_test, seed + 1)
        return ExperimentData(train=train.x, x_test=test.x, clean_test=test.clean,
                              likelihood="gaussian", true_bases=train.bases)  # fmt: skip
    train = loaders.synthetic_patches(n_train, seed=seed, noise_std=config.noise_std)
    test = loaders.synthetic_patches(config.n_test, seed=seed + 1, noise_std=config.noise_std)
    return ExperimentData(
        train=train.x,
        x_test=test.x,
        clean_test=test.clean,
        likelihood="gaussian",
        likelihood_scale=config.noise_std,
        true_bases=train.bases,
        noise_variance=config.noise_std**2,
    )


def _mnist_subset(config, options):
    """MNIST training digits from arrays: the first ``limit`` of them (at
    most the preset's ``mnist_train``), grey or dynamically binarised as the
    preset says."""
    plain = dict(options, binarize=None, scale=False, shuffle=False, with_labels=True)
    ds, info = loaders.load_mnist(split="train", **plain)
    if config.data_dir is not None:  # the IDX files directly: faster than a pass over ds
        images = loaders.read_mnist_idx(config.data_dir, "train")[0]
    else:
        images = dataset_arrays(ds)[0].astype(np.uint8)
    limit, kept = config.max_train, preset(config.recipe).mnist_train
    if kept is not None:
        limit = min(limit or kept, kept)
    images = images[:limit]
    binarize = preset(config.recipe).mnist_binarize
    fn = pixel_batch_fn(scale=True, binarize=binarize, threshold=0.5,
                        element_shape=info.element_shape)  # fmt: skip
    train = loaders.make_dataset(images, batch_size=config.batch_size, seed=config.seed,
                                 map_batch=fn)  # fmt: skip
    preprocessing = dict(info.preprocessing, binarize=binarize, scale=True)
    info = dataclasses.replace(info, num_examples=len(images), with_labels=False,
                               value_range=(0.0, 1.0), preprocessing=preprocessing)  # fmt: skip
    return train, info


def _mnist(config):
    binarize = preset(config.recipe).mnist_binarize
    options = dict(path=config.data_dir, batch_size=config.batch_size, seed=config.seed)
    if preset(config.recipe).mnist_train is not None or config.max_train is not None:
        train, info = _mnist_subset(config, options)
    else:
        train, info = loaders.load_mnist(split="train", binarize=binarize, **options)
    test = loaders.load_mnist(split="test", with_labels=True, shuffle=False, binarize=binarize,
                              **options)[0]  # fmt: skip
    x_test, labels = dataset_arrays(test)
    return ExperimentData(train=train, x_test=x_test, labels_test=labels, label_kind="class",
                          likelihood="bernoulli", info=info)  # fmt: skip


def _cifar_images(config, split):
    """uint8 CIFAR-10 images and labels; the paper's training set is data_batch_1."""
    path, tfds_split = config.data_dir, split
    if preset(config.recipe).cifar_patches == "centre" and split == "train":
        if path is not None and (Path(path) / "data_batch_1.bin").is_file():
            path = Path(path) / "data_batch_1.bin"
        tfds_split = "train[:10000]"
    ds = loaders.load_cifar10(path, split=tfds_split, scale=False, with_labels=True,
                              shuffle=False)[0]  # fmt: skip
    images, labels = dataset_arrays(ds)
    limit = config.max_train if split == "train" else None
    return _first(images.astype(np.uint8), limit), _first(labels, limit)


def _cifar(config):
    """12x12 patches: the library's ZCA-whitened random crops, or the paper's
    grey centre crops of data_batch_1 divided by 256 (no mean removal, no
    whitening)."""
    options = dict(batch_size=config.batch_size, seed=config.seed, name="cifar10_patches",
                   class_names=loaders.CIFAR10_CLASS_NAMES, drop_remainder=False,
                   patch_size=12)  # fmt: skip
    centre = preset(config.recipe).cifar_patches == "centre"
    if centre:
        options.update(mode="centre", grayscale=True, remove_mean=False, normalize=False)
    else:
        options.update(
            mode="random",
            patches_per_image=2,
            whiten=None if config.whiten == "none" else config.whiten,
        )
    infos = {}
    arrays = {}
    for split in ("train", "test"):
        images, labels = _cifar_images(config, split)
        if centre:
            images = images.astype(np.float32) / 256.0  # the author's scaling
        ds, infos[split] = patch_pipeline(
            images, labels, split=split, source=str(config.data_dir or "tfds:cifar10"),
            fit_allowed=split == "train", with_labels=split == "test",
            shuffle=split == "train", preprocessing_from=infos.get("train"), **options,
        )  # fmt: skip
        arrays[split] = ds if split == "train" else dataset_arrays(ds)
    x_test, labels = arrays["test"]
    return ExperimentData(train=arrays["train"], x_test=x_test, labels_test=labels,
                          label_kind="class", likelihood="gaussian", likelihood_scale=0.5,
                          learn_likelihood_scale=True, info=infos["train"])  # fmt: skip


def _load(config):
    seed, batch = config.seed, config.batch_size
    if config.data == "synthetic":
        return _synthetic(config)
    if config.data == "mnist":
        return _mnist(config)
    centre = preset(config.recipe).cifar_patches == "centre"
    if config.data == "cifar" and (centre or config.max_train is not None):
        return _cifar(config)
    if config.data in ("cifar", "bsds"):
        patch_options = dict(
            patch_size=12,
            whiten=None if config.whiten == "none" else config.whiten,
            batch_size=batch,
            seed=seed,
        )
        if config.data == "cifar":
            train, info = loaders.load_cifar10_patches(
                config.data_dir, split="train", patches_per_image=2, **patch_options
            )
            test = loaders.load_cifar10_patches(
                config.data_dir, split="test", with_labels=True, shuffle=False,
                preprocessing_from=info, **(patch_options | {"seed": TEST_PATCH_SEED}),
            )[0]  # fmt: skip
        else:
            files = _photographs(config)
            held_out = max(1, len(files) // 10)
            per_image = {}  # max_train: fewer random patches per photograph, all photographs
            if config.patches_per_image is not None:
                per_image["patches_per_image"] = config.patches_per_image
            if config.max_train is not None:
                per_image["patches_per_image"] = -(-config.max_train // (len(files) - held_out))
            train, info = loaders.load_image_patches(
                files[:-held_out], **patch_options, **per_image
            )
            test = loaders.load_image_patches(
                files[-held_out:], with_labels=True, shuffle=False, preprocessing_from=info,
                **(patch_options | {"seed": TEST_PATCH_SEED}),
            )[0]  # fmt: skip
        x_test, labels = dataset_arrays(test)
        return ExperimentData(
            train=train, x_test=x_test, labels_test=labels,
            label_kind="class" if config.data == "cifar" else None,
            likelihood="gaussian", likelihood_scale=0.5, learn_likelihood_scale=True, info=info,
        )  # fmt: skip
    n_train = min(config.n_train, config.max_train or config.n_train)
    train, info = loaders.load_toy(n_train, seed=seed, batch_size=batch)
    x_test, amplitudes = dataset_arrays(
        loaders.load_toy(config.n_test, seed=seed + 1, with_labels=True, shuffle=False)[0]
    )
    return ExperimentData(train=train, x_test=x_test, labels_test=amplitudes[:, 0],
                          label_kind="amplitude", likelihood="bernoulli", info=info)  # fmt: skip
