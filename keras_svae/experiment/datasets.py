"""The data of each experiment: a training pipeline, held-out arrays, and how
the model should treat them (likelihood, noise scale) and show them."""

import dataclasses
from pathlib import Path

import numpy as np

from keras_svae import data as loaders


@dataclasses.dataclass
class ExperimentData:
    """Training data (array or tf.data pipeline), test arrays, and how the model
    should treat and show them.

    ``clean_test`` is the test data before noise where it is known (synthetic),
    so reconstructions can be scored against the signal as well as the data.
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

    MNIST is binarised dynamically (each epoch draws new binary digits from the
    grey values; the test set is binarised once, seeded), the standard protocol
    under which a Bernoulli likelihood is a normalised likelihood.
    """
    seed, batch = config.seed, config.batch_size
    if config.data == "synthetic":
        train = loaders.synthetic_patches(config.n_train, seed=seed, noise_std=config.noise_std)
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
    if config.data == "mnist":
        options = dict(path=config.data_dir, batch_size=batch, seed=seed, binarize="dynamic")
        train, info = loaders.load_mnist(split="train", **options)
        test = loaders.load_mnist(split="test", with_labels=True, shuffle=False, **options)[0]
        x_test, labels = dataset_arrays(test)
        return ExperimentData(train=train, x_test=x_test, labels_test=labels, label_kind="class",
                              likelihood="bernoulli", info=info)  # fmt: skip
    if config.data in ("cifar", "bsds"):
        patch_options = dict(patch_size=12, whiten="zca", batch_size=batch, seed=seed)
        if config.data == "cifar":
            train, info = loaders.load_cifar10_patches(
                config.data_dir, split="train", patches_per_image=2, **patch_options
            )
            test = loaders.load_cifar10_patches(
                config.data_dir, split="test", with_labels=True, shuffle=False,
                preprocessing_from=info, **patch_options,
            )[0]  # fmt: skip
        else:
            files = _photographs(config)
            held_out = max(1, len(files) // 10)
            train, info = loaders.load_image_patches(files[:-held_out], **patch_options)
            test = loaders.load_image_patches(
                files[-held_out:], with_labels=True, shuffle=False, preprocessing_from=info,
                **patch_options,
            )[0]  # fmt: skip
        x_test, labels = dataset_arrays(test)
        return ExperimentData(
            train=train, x_test=x_test, labels_test=labels,
            label_kind="class" if config.data == "cifar" else None,
            likelihood="gaussian", likelihood_scale=0.5, learn_likelihood_scale=True, info=info,
        )  # fmt: skip
    train, info = loaders.load_toy(config.n_train, seed=seed, batch_size=batch)
    x_test, amplitudes = dataset_arrays(
        loaders.load_toy(config.n_test, seed=seed + 1, with_labels=True, shuffle=False)[0]
    )
    return ExperimentData(train=train, x_test=x_test, labels_test=amplitudes[:, 0],
                          label_kind="amplitude", likelihood="bernoulli", info=info)  # fmt: skip
