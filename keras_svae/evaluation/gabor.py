"""Are the learned patterns Gabor-like (the sparse-coding result on natural images)?

Each pattern is fitted by least squares with a 2-D Gabor function, a plane
wave under a Gaussian envelope (Olshausen and Field, 1996; Jones and Palmer,
1987), and scored by the fit's R^2.
"""

import numpy as np
from scipy.optimize import least_squares

from keras_svae.evaluation.checks import as_flat, positive_int

# Parameter order of ``gabor_image``.
PARAMETERS = (
    "amplitude",
    "row",
    "column",
    "orientation",
    "frequency",
    "phase",
    "sigma_along",
    "sigma_across",
    "offset",
)


def _image_shape(image_shape):
    """(height, width) as ints, each >= 2, or a ValueError."""
    if len(image_shape) != 2 or min(image_shape) < 2:
        raise ValueError(f"image_shape must be (height, width), each >= 2; got {image_shape}.")
    return tuple(int(s) for s in image_shape)


def gabor_image(params, image_shape):
    """A 2-D Gabor function sampled on the pixel grid.

        offset + amplitude * exp(-(u^2 / (2 sigma_along^2) + v^2 / (2 sigma_across^2)))
                           * cos(2 pi frequency u + phase)

    where (u, v) are the pixel coordinates relative to (row, column), rotated
    by ``orientation`` (radians); ``frequency`` is in cycles per pixel.

    Args:
        params: the nine numbers named in ``PARAMETERS``.
        image_shape: (height, width).

    Returns:
        A numpy array of ``image_shape``.
    """
    return _gabor_and_jacobian(params, image_shape)[0]


def _gabor_and_jacobian(params, image_shape, jacobian=False):
    """``gabor_image`` and, when asked, its derivatives [pixels, 9] in
    ``PARAMETERS`` order (analytic: several times faster than differences)."""
    amplitude, row, column, theta, frequency, phase, sigma_u, sigma_v, offset = params
    rows, columns = np.indices(image_shape, dtype=np.float64)
    dy, dx = rows - row, columns - column
    cos, sin = np.cos(theta), np.sin(theta)
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    envelope = np.exp(-0.5 * ((u / sigma_u) ** 2 + (v / sigma_v) ** 2))
    angle = 2 * np.pi * frequency * u + phase
    wave = np.cos(angle)
    image = offset + amplitude * envelope * wave
    if not jacobian:
        return image, None
    along = amplitude * envelope * np.sin(angle)  # minus the derivative by the phase
    d_u = -amplitude * envelope * wave * u / sigma_u**2 - along * 2 * np.pi * frequency
    d_v = -amplitude * envelope * wave * v / sigma_v**2
    columns_of_jacobian = [
        envelope * wave,
        -sin * d_u - cos * d_v,
        -cos * d_u + sin * d_v,
        v * d_u - u * d_v,
        -along * 2 * np.pi * u,
        -along,
        amplitude * envelope * wave * u**2 / sigma_u**3,
        amplitude * envelope * wave * v**2 / sigma_v**3,
        np.ones_like(u),
    ]
    return image, np.stack([c.ravel() for c in columns_of_jacobian], axis=1)


def _starting_points(image, orientations, frequencies):
    """Initial parameters: the centre of the pattern's energy, the peak of its
    spectrum, and a grid of orientations and frequencies (least squares finds
    the nearest local optimum, and a Gabor fit has many)."""
    height, width = image.shape
    energy = image**2
    total = energy.sum()
    rows, columns = np.indices(image.shape)
    centre = (float((rows * energy).sum() / total), float((columns * energy).sum() / total))
    spectrum = np.abs(np.fft.fft2(image - image.mean(), s=(4 * height, 4 * width)))
    fy, fx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    fy = np.fft.fftfreq(4 * height)[fy]
    fx = np.fft.fftfreq(4 * width)[fx]
    peak = (float(np.arctan2(fy, fx)), float(np.hypot(fx, fy)))
    amplitude = float(np.abs(image).max())
    sigma = max(height, width) / 4.0
    candidates = [peak] + [(t, f) for t in orientations for f in frequencies]
    points = []
    for theta, frequency in candidates:
        for phase in (0.0, np.pi / 2):
            points.append(
                [amplitude, *centre, theta, frequency, phase, sigma, sigma, float(image.mean())]
            )
    return points


def gabor_fit(
    patterns,
    image_shape,
    orientations=(0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4),
    frequencies=(0.08, 0.2),
    good_enough=0.95,
    return_params=False,
):
    """R^2 of the best least-squares 2-D Gabor fit to each pattern.

    Each pattern is fitted with ``gabor_image`` (nine parameters) by
    ``scipy.optimize.least_squares`` from several starting points: its
    spectrum's peak and a grid of ``orientations`` x ``frequencies``, each with
    phases 0 and pi/2. The best fit's R^2 = 1 - SS_residual / SS_total is
    kept (SS_total about the pattern's own mean). The centre may lie up to a
    pixel outside the patch, the envelope's widths lie in [0.5, the patch's
    size] pixels and the frequency in [0, 0.5] cycles per pixel.

    Args:
        patterns: numpy array [n, height, width] or [n, height * width].
        image_shape: (height, width) of one pattern.
        orientations: starting orientations (radians).
        frequencies: starting frequencies (cycles per pixel).
        good_enough: stop trying starting points once R^2 reaches this.
        return_params: also return the fitted parameters.

    Returns:
        A float64 numpy array [n] of R^2 (0 for a constant pattern); with
        ``return_params``, also a [n, 9] array of the ``PARAMETERS``.
    """
    height, width = _image_shape(image_shape)
    flat = as_flat(patterns, "patterns")
    if flat.shape[1] != height * width:
        raise ValueError(
            f"Each pattern has {flat.shape[1]} values, but image_shape {tuple(image_shape)} "
            f"holds {height * width}."
        )
    size = max(height, width)
    lower = [-np.inf, -1.0, -1.0, -np.inf, 0.0, -np.inf, 0.5, 0.5, -np.inf]
    upper = [np.inf, height, width, np.inf, 0.5, np.inf, size, size, np.inf]
    r2 = np.zeros(len(flat))
    params = np.full((len(flat), len(PARAMETERS)), np.nan)
    for i, pattern in enumerate(flat):
        image = pattern.reshape(height, width)
        total = float(np.sum((image - image.mean()) ** 2))
        if total == 0.0:
            continue

        def residual(p, image=image):
            return (gabor_image(p, (height, width)) - image).ravel()

        def jacobian(p):
            return _gabor_and_jacobian(p, (height, width), jacobian=True)[1]

        for start in _starting_points(image, orientations, frequencies):
            start = np.clip(start, lower, upper)
            fit = least_squares(residual, start, jac=jacobian, bounds=(lower, upper), max_nfev=400)
            score = 1.0 - 2.0 * fit.cost / total  # cost is half the sum of squares
            if score > r2[i]:
                r2[i], params[i] = score, fit.x
            if r2[i] >= good_enough:
                break
    return (r2, params) if return_params else r2


def gabor_likeness(patterns, image_shape, active=None, threshold=0.7, **kwargs):
    """How many of the active latents' patterns are Gabor-like.

    Args:
        patterns: numpy array [latent_dim, height, width] or flat
            (``latent_patterns``).
        image_shape: (height, width).
        active: boolean mask [latent_dim] of the latents to score (e.g.
            ``active_latents(codes)``); None scores every pattern. The
            pattern of a collapsed latent is whatever the decoder does with a
            latent it ignores, so it should not count either way.
        threshold: R^2 at or above which a pattern counts as Gabor-like.
        **kwargs: passed to ``gabor_fit``.

    Returns:
        A dict: ``fraction`` of scored patterns with R^2 >= threshold,
        ``median_r2`` of the scored patterns, ``n_patterns`` scored and
        ``r2`` (all scored R^2 values). With no active latent, fraction is 0
        and the median NaN.
    """
    patterns = np.asarray(patterns)
    if active is not None:
        active = np.asarray(active)
        if active.dtype != np.bool_ or active.shape != (len(patterns),):
            raise ValueError(
                f"active must be a boolean mask with one entry per pattern, shape "
                f"({len(patterns)},); got dtype {active.dtype} and shape {active.shape}."
            )
        patterns = patterns[active]
    if len(patterns) == 0:
        return {"fraction": 0.0, "median_r2": float("nan"), "n_patterns": 0, "r2": []}
    r2 = gabor_fit(patterns, image_shape, **kwargs)
    return {
        "fraction": float(np.mean(r2 >= threshold)),
        "median_r2": float(np.median(r2)),
        "n_patterns": int(len(r2)),
        "r2": r2.tolist(),
    }


def smooth_random_patterns(n, image_shape, seed=0):
    """Smooth random patterns: Gaussian white noise filtered to a 1/f^2
    amplitude spectrum.

    f is the spatial frequency in cycles per pixel (the mean, f = 0, is
    removed; the filter is circular, so the patterns wrap around). Amplitude
    1/f^2 (power 1/f^4) is smoother than natural images (amplitude 1/f):
    blobs and ramps that look like nothing in particular, yet that a
    nine-parameter Gabor fits about as well as a learned pattern. Each
    pattern is scaled to unit norm.

    Args:
        n: how many patterns, >= 1.
        image_shape: (height, width).
        seed: integer seed.

    Returns:
        A float64 numpy array [n, height, width].
    """
    n = positive_int(n, "n")
    height, width = _image_shape(image_shape)
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij"))
    amplitude = np.divide(1.0, frequency**2, out=np.zeros_like(frequency), where=frequency > 0)
    noise = np.random.default_rng(seed).normal(size=(n, height, width))
    patterns = np.real(np.fft.ifft2(np.fft.fft2(noise) * amplitude))
    return patterns / np.linalg.norm(patterns.reshape(n, -1), axis=1)[:, None, None]


def gabor_chance(image_shape, n=30, threshold=0.7, seed=0, **kwargs):
    """The fraction of smooth random patterns (``smooth_random_patterns``)
    that the Gabor test passes: the level a Gabor fraction must clear.

    Nine free parameters fit a smooth blob on a small patch well: about a
    third of 12x12 patterns reach R^2 >= 0.7 (of rougher patterns with a
    natural image's 1/f amplitude, almost none do). The patterns are seeded,
    so the number is the same each call; n is small so it is quick (each fit
    tries several starting points), and its standard error is about
    sqrt(p (1 - p) / n) (0.09 for n = 30).

    Args:
        image_shape: (height, width) of the patterns being judged.
        n: how many random patterns to fit.
        threshold: R^2 at or above which a pattern counts as Gabor-like, as in
            ``gabor_likeness``.
        seed: integer seed of the patterns.
        **kwargs: passed to ``gabor_fit`` (use the options the judged
            patterns were fitted with).

    Returns:
        A float in [0, 1].
    """
    patterns = smooth_random_patterns(n, image_shape, seed)
    return gabor_likeness(patterns, image_shape, threshold=threshold, **kwargs)["fraction"]
