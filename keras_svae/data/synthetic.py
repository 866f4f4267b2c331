"""The paper's first data set: 5x5 patches made from 5 basis functions plus noise.

Each patch is x = sum_k a_k * basis_k + noise with sparse (Laplace) coefficients
a_k, so the sparse-coding model x = A z + noise is exactly right for it and the
true bases are known: a trained linear decoder can be scored against them.
It is generated from a seed and needs no download.
"""

from dataclasses import dataclass

import numpy as np

from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.validation import check_number, check_positive_int, check_scale, check_seed

PATCH_SIZE = 5
N_BASES = 5


def true_bases(patch_size=PATCH_SIZE):
    """The five true basis functions of the synthetic patches.

    Args:
        patch_size: side of the patches, at least 3.

    Returns:
        float32 [5, patch_size, patch_size], unit-norm patterns: a row bar, a
        column bar, a diagonal, a centred blob and a left-to-right ramp.
    """
    patch_size = check_positive_int(patch_size, "patch_size")
    if patch_size < 3:
        raise ValueError(
            f"patch_size must be at least 3 (the bars need a row inside the patch), got "
            f"{patch_size}. Use patch_size >= 3; the paper uses 5."
        )
    size = patch_size
    grid = np.arange(size, dtype=np.float64)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    centre = (size - 1) / 2
    bases = np.stack(
        [
            (rows == 1).astype(np.float64),
            (cols == size - 2).astype(np.float64),
            np.eye(size),
            np.exp(-((rows - centre) ** 2 + (cols - centre) ** 2) / 2.0),
            (cols - centre) / size,
        ]
    )
    bases /= np.linalg.norm(bases.reshape(N_BASES, -1), axis=1)[:, None, None]
    return bases.astype(np.float32)


@dataclass
class SyntheticPatches:
    """Generated patches with everything that made them.

    Attributes:
        x: noisy patches, [n, size, size, 1] float32.
        clean: the patches before noise.
        coefficients: the sparse coefficients a, [n, 5].
        bases: the true basis functions, [5, size, size].
        noise_std: the standard deviation of the added Gaussian noise.
    """

    x: np.ndarray
    clean: np.ndarray
    coefficients: np.ndarray
    bases: np.ndarray
    noise_std: float


def synthetic_patches(n=20000, seed=0, noise_std=0.1, patch_size=PATCH_SIZE, coefficient_scale=1.0):
    """Generate ``n`` patches x = sum_k a_k basis_k + Normal(0, noise_std).

    The coefficients are Laplace(0, coefficient_scale): most are small, a few
    large, which is what the sparse priors model.

    Args:
        n: number of patches.
        seed: seeds the coefficients and the noise.
        noise_std: standard deviation of the Gaussian noise (0 for clean patches).
        patch_size: side of the patches (see `true_bases`).
        coefficient_scale: scale of the Laplace coefficients.

    Returns:
        A `SyntheticPatches` holding the patches and everything that made them.

    Examples:
        >>> patches = synthetic_patches(n=100, seed=0)
        >>> patches.x.shape, patches.bases.shape
        ((100, 5, 5, 1), (5, 5, 5))
    """
    n = check_positive_int(n, "n")
    seed = check_seed(seed, allow_none=False)
    noise_std = check_number(noise_std, "noise_std", minimum=0.0)
    coefficient_scale = check_scale(coefficient_scale, "coefficient_scale")
    rng = np.random.default_rng(seed)
    bases = true_bases(patch_size)
    coefficients = rng.laplace(0.0, coefficient_scale, size=(n, N_BASES))
    clean = np.einsum("nk,kij->nij", coefficients, bases)[..., None]
    noise = rng.normal(0.0, noise_std, size=clean.shape)
    return SyntheticPatches(
        x=(clean + noise).astype(np.float32),
        clean=clean.astype(np.float32),
        coefficients=coefficients.astype(np.float32),
        bases=bases,
        noise_std=noise_std,
    )


PAPER_CLIP = (0.001, 0.999)


def paper_synthetic_patches(n=10000, seed=0, basis_seed=0, coefficients="normal", latent=5):
    """The paper author's synthetic set: x = clip(B z, 0.001, 0.999), 25 pixels.

    B is a (25 x ``latent``) matrix with entries uniform in [-0.5, 0.5], drawn
    from ``basis_seed`` so that training and test sets (different ``seed``)
    share it; z is standard normal, or standard Cauchy as in the author's
    Cauchy notebook. There is no added noise: the clipping is the only
    distortion, and values stay inside (0, 1) for a sigmoid decoder.

    Args:
        n: number of patches.
        seed: seeds the coefficients z.
        basis_seed: seeds B.
        coefficients: ``"normal"`` or ``"cauchy"``.
        latent: number of basis functions (columns of B).

    Returns:
        A `SyntheticPatches`: x [n, 5, 5, 1]; ``clean`` equals ``x``; ``bases``
        [latent, 5, 5] are B's columns (not normalised); ``noise_std`` 0.
    """
    n = check_positive_int(n, "n")
    latent = check_positive_int(latent, "latent")
    if coefficients not in ("normal", "cauchy"):
        raise ValueError(f'coefficients must be "normal" or "cauchy", got {coefficients!r}.')
    B = np.random.default_rng(basis_seed).uniform(-0.5, 0.5, size=(PATCH_SIZE**2, latent))
    rng = np.random.default_rng(seed)
    z = (
        rng.standard_normal((n, latent))
        if coefficients == "normal"
        else rng.standard_cauchy((n, latent))
    )
    x = np.clip(z @ B.T, *PAPER_CLIP).reshape(n, PATCH_SIZE, PATCH_SIZE, 1).astype(np.float32)
    return SyntheticPatches(
        x=x,
        clean=x,
        coefficients=z.astype(np.float32),
        bases=B.T.reshape(latent, PATCH_SIZE, PATCH_SIZE).astype(np.float32),
        noise_std=0.0,
    )


def load_synthetic(
    n=20000,
    *,
    seed=0,
    noise_std=0.1,
    batch_size=100,
    shuffle=True,
    with_labels=False,
    drop_remainder=False,
):
    """The synthetic patches as a batched ``tf.data.Dataset`` and a ``DatasetInfo``.

    Args:
        n: number of patches (see `synthetic_patches`).
        seed: seeds the patches and the shuffle.
        noise_std: standard deviation of the Gaussian noise.
        batch_size: examples per batch (see `make_dataset`).
        shuffle: reshuffle the patches every epoch.
        with_labels: elements ``(x, coefficients)`` instead of ``x``.
        drop_remainder: drop the last, smaller batch (static batch shapes).


    Returns:
        ``(dataset, info)``; the true bases, clean patches and noise level are
        in ``info.extra``.
    """
    data = synthetic_patches(n, seed=seed, noise_std=noise_std)
    dataset = make_dataset(
        data.x,
        data.coefficients if with_labels else None,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
    )
    info = DatasetInfo(
        name="synthetic",
        split="generated",
        num_examples=len(data.x),
        batch_size=batch_size,
        element_shape=data.x.shape[1:],
        value_range=(float(data.x.min()), float(data.x.max())),
        with_labels=with_labels,
        label_shape=(N_BASES,),
        source=f"synthetic_patches(seed={seed})",
        preprocessing={"seed": seed, "noise_std": noise_std, "drop_remainder": drop_remainder},
        extra={"bases": data.bases, "clean": data.clean, "noise_std": noise_std},
    )
    return dataset, info
