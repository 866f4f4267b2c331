"""Natural-image patches from any folder of JPEG/PNG photographs.

This is the classic Olshausen-Field sparse-coding setting: random small patches
of natural photographs (e.g. the 200 BSDS300 training images), mean-removed,
scaled and usually whitened, give Gabor-like dictionary elements. Any folder
of ``.jpg``/``.jpeg``/``.png`` files works. Images are decoded with
``tf.io.decode_image`` (no Pillow dependency); patch extraction and
preprocessing are shared with CIFAR-10 (`keras_svae.data.patches`).
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_svae.data.patches import patch_pipeline
from keras_svae.validation import check_positive_int

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def list_image_files(folder):
    """The JPEG/PNG files directly inside ``folder``, sorted by name.

    Args:
        folder: a folder of photographs (extensions matched case-insensitively).

    Returns:
        A list of `Path`.
    """
    folder = Path(folder)
    extensions = ", ".join(IMAGE_EXTENSIONS)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Image folder {folder} does not exist. Pass a folder of photographs ({extensions}), "
            "e.g. the BSDS300 training images (BSDS300/images/train)."
        )
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise ValueError(
            f"Image folder {folder} holds no images: expected files ending in {extensions} "
            "(case-insensitive). Pass the folder that holds the photographs."
        )
    return files


def read_image(path):
    """Decodes one JPEG/PNG file.

    Args:
        path: the image file.

    Returns:
        uint8 RGB array (height, width, 3).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: naming the file, if TensorFlow cannot decode it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file {path} does not exist.")
    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
        raise ValueError(
            f"{path}: cannot decode image ({err.message.strip()}). Use JPEG or PNG files, or "
            "remove this one from the folder."
        ) from err
    return image.numpy()


def load_image_patches(
    path,
    *,
    max_images=None,
    patch_size=12,
    mode="random",
    patches_per_image=100,
    grayscale=True,
    remove_mean=True,
    normalize=True,
    whiten=None,
    n_components=None,
    epsilon=1e-2,
    flatten=True,
    with_labels=False,
    batch_size=128,
    shuffle=True,
    seed=0,
    drop_remainder=False,
    preprocessing_from=None,
):
    """Patches of the photographs in a folder, as a batched `tf.data.Dataset`.

    Args:
        path: folder of JPEG/PNG images, or a sequence of image files.
        max_images: use only the first ``max_images`` files (sorted by name).
        patch_size: side of the square patches.
        mode: "random" crops; "downsample" shrinks each whole photograph to
            a square patch (aspect ratio not kept), rarely what one wants here.
        patches_per_image: random patches cropped from each photograph.
        grayscale: convert RGB to one luma channel.
        remove_mean: subtract each patch's own mean.
        normalize: divide by the global std of the (training) patches.
        whiten: None, "pca" or "zca" (see `prepare_patches`).
        n_components: components kept by the whitening (None: all).
        epsilon: the whitening's regulariser (see `Whitening`).
        flatten: vectors (d,) rather than (patch_size, patch_size, channels).
        with_labels: elements ``(x, image_index)``; ``info.class_names[i]`` is
            the file name of image ``i``.
        preprocessing_from: the `DatasetInfo` of training patches whose scale
            and whitening to reuse (for held-out images); otherwise they are
            fitted on these patches.
        batch_size: examples per batch (see `make_dataset`).
        shuffle: reshuffle the patches every epoch.
        seed: seeds the crops and the shuffle.
        drop_remainder: drop the last, smaller batch (static batch shapes).

    Returns:
        ``(dataset, info)``; ``info.class_names`` are the image file names.
    """
    patch_size = check_positive_int(patch_size, "patch_size")
    if isinstance(path, (list, tuple)):
        files = [Path(p) for p in path]
        if not files:
            raise ValueError(
                f"No image files given (an empty list). Pass a folder, or a list of "
                f"{', '.join(IMAGE_EXTENSIONS)} files."
            )
        where = f"{len(files)} files"
    else:
        files = list_image_files(path)
        where = str(Path(path))
    if max_images is not None:
        files = files[: check_positive_int(max_images, "max_images")]
    images = []
    for f in files:
        image = read_image(f)
        if image.shape[0] < patch_size or image.shape[1] < patch_size:
            raise ValueError(
                f"{f}: image is {image.shape[1]}x{image.shape[0]} pixels, smaller than the "
                f"{patch_size}x{patch_size} patch. Use a smaller patch_size, or remove the image."
            )
        images.append(image)
    return patch_pipeline(
        images,
        np.arange(len(images)),
        name="image_patches",
        split="train" if preprocessing_from is None else "held-out",
        source=where,
        class_names=[f.name for f in files],
        fit_allowed=True,
        with_labels=with_labels,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        preprocessing_from=preprocessing_from,
        patch_size=patch_size,
        mode=mode,
        patches_per_image=patches_per_image,
        grayscale=grayscale,
        remove_mean=remove_mean,
        normalize=normalize,
        whiten=whiten,
        n_components=n_components,
        epsilon=epsilon,
        flatten=flatten,
    )
