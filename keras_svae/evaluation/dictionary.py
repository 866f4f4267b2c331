"""What a learned dictionary looks like: a 2-D Gabor fit per atom, in the terms
receptive fields are described in (centre, orientation, spatial frequency,
envelope widths, phase), and how many atoms are Gabor-like.

Sparse coding of natural-image patches is judged by this: an overcomplete
dictionary under a sparse prior becomes a bank of localized, oriented,
band-pass filters (Olshausen and Field, 1996), tiling the patch in position,
orientation and frequency.
"""

import dataclasses

import numpy as np

from keras_svae.evaluation.gabor import PARAMETERS, gabor_fit

# R^2 at or above which an atom counts as Gabor-like (as in gabor_likeness).
GABOR_R2 = 0.7


@dataclasses.dataclass
class DictionaryAnalysis:
    """Per-atom Gabor parameters of a dictionary and its Gabor-like counts.

    Arrays hold one entry per atom (NaN where the fit failed, as for a
    constant atom). ``orientation`` is the direction of the wave vector in
    radians in [0, pi) (an atom's stripes run perpendicular to it);
    ``frequency`` is in cycles per pixel; ``sigma_along`` is the envelope's
    width across the stripes (along the wave vector) and ``sigma_across`` its
    width along them, both in pixels; ``aspect_ratio`` is
    sigma_across / sigma_along (V1 simple cells: mostly 1 to 2).

    Attributes:
        r2: each atom's Gabor fit R^2.
        row: the envelope centre's row, in pixels.
        column: the envelope centre's column, in pixels.
        orientation: the wave vector's direction, radians in [0, pi).
        frequency: cycles per pixel.
        phase: the carrier's phase, radians.
        sigma_along: the envelope's width along the wave vector, in pixels.
        sigma_across: the envelope's width across it, in pixels.
        informative: whether each atom carries information (boolean).
        threshold: the R^2 from which an atom counts as Gabor-like.
    """

    r2: np.ndarray
    row: np.ndarray
    column: np.ndarray
    orientation: np.ndarray
    frequency: np.ndarray
    phase: np.ndarray
    sigma_along: np.ndarray
    sigma_across: np.ndarray
    informative: np.ndarray
    threshold: float = GABOR_R2

    @property
    def aspect_ratio(self):
        return self.sigma_across / self.sigma_along

    @property
    def gabor_like(self):
        """Boolean mask of the atoms whose fit reaches ``threshold``."""
        return np.nan_to_num(self.r2) >= self.threshold

    def summary(self):
        """The counts a report prints: Gabor-like atoms among all atoms and
        among the informative ones (those that carry information about the
        data; an unused atom's pattern is whatever its decoder column holds)."""
        gabor, informative = self.gabor_like, self.informative
        n_informative = int(informative.sum())
        return {
            "atoms": len(self.r2),
            "gabor_like": int(gabor.sum()),
            "gabor_fraction": float(gabor.mean()) if len(gabor) else 0.0,
            "informative": n_informative,
            "gabor_like_informative": int((gabor & informative).sum()),
            "gabor_fraction_informative": (
                float((gabor & informative).sum() / n_informative) if n_informative else None
            ),
        }

    def to_rows(self):
        """One dict per atom, for a CSV or JSON table."""
        names = ("r2", "row", "column", "orientation", "frequency", "phase", "sigma_along",
                 "sigma_across")  # fmt: skip
        return [
            {
                "atom": k,
                **{n: float(getattr(self, n)[k]) for n in names},
                "aspect_ratio": float(self.aspect_ratio[k]),
                "gabor_like": bool(self.gabor_like[k]),
                "informative": bool(self.informative[k]),
            }  # fmt: skip
            for k in range(len(self.r2))
        ]


def canonical_gabor(params):
    """The same Gabors with a positive amplitude, orientation in [0, pi) and
    phase in (-pi, pi].

    A Gabor is unchanged by turning its wave vector half a turn and negating
    its phase (cos(-a) = cos(a)), and by negating its amplitude and adding pi
    to its phase, so orientation is only defined modulo pi.

    Args:
        params: numpy array [..., 9] in ``gabor.PARAMETERS`` order.

    Returns:
        A float64 copy with those two parameters normalised.
    """
    params = np.array(params, dtype=np.float64)
    amplitude = params[..., PARAMETERS.index("amplitude")]
    theta = params[..., PARAMETERS.index("orientation")]
    phase = params[..., PARAMETERS.index("phase")] + np.pi * (amplitude < 0)
    params[..., PARAMETERS.index("amplitude")] = np.abs(amplitude)
    turns = np.floor(theta / np.pi)  # whole half-turns to take off
    flipped = np.mod(turns, 2) == 1
    theta = theta - turns * np.pi
    phase = np.where(flipped, -phase, phase)
    phase = np.angle(np.exp(1j * phase))
    params[..., PARAMETERS.index("orientation")] = theta
    params[..., PARAMETERS.index("phase")] = phase
    return params


def analyze_dictionary(patterns, image_shape, informative=None, threshold=GABOR_R2, **kwargs):
    """Fit a 2-D Gabor to every atom of a dictionary.

    Args:
        patterns: the atoms, numpy array [n_atoms, height, width] or flat
            (``evaluation.latent_patterns(model)`` shown as images, or a
            decoder's columns).
        image_shape: (height, width) of one atom.
        informative: boolean mask [n_atoms] of the atoms that carry
            information; default every atom.
        threshold: R^2 at or above which an atom is Gabor-like.
        **kwargs: passed to ``gabor.gabor_fit`` (starting points).

    Returns:
        A ``DictionaryAnalysis``.

    Raises:
        ValueError: patterns that do not fit ``image_shape``, or a mask of
            the wrong shape or type.
    """
    patterns = np.asarray(patterns)
    if informative is None:
        informative = np.ones(len(patterns), dtype=bool)
    informative = np.asarray(informative)
    if informative.dtype != np.bool_ or informative.shape != (len(patterns),):
        raise ValueError(
            f"informative must be a boolean mask with one entry per atom, shape "
            f"({len(patterns)},); got dtype {informative.dtype} and shape {informative.shape}."
        )
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is an R^2 in (0, 1], got {threshold!r}.")
    r2, params = gabor_fit(patterns, image_shape, return_params=True, **kwargs)
    params = canonical_gabor(params)
    column = {name: params[:, i] for i, name in enumerate(PARAMETERS)}
    return DictionaryAnalysis(
        r2=r2,
        row=column["row"],
        column=column["column"],
        orientation=column["orientation"],
        frequency=column["frequency"],
        phase=column["phase"],
        sigma_along=column["sigma_along"],
        sigma_across=column["sigma_across"],
        informative=informative,
        threshold=threshold,
    )
