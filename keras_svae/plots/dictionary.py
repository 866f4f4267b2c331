"""The classic figures of a learned dictionary of natural-image patches: where
its Gabor-like atoms sit and how they tile the patch in position,
orientation, spatial frequency and envelope shape (Olshausen and Field, 1996;
Ringach, 2002 for the envelope aspect ratios of V1 simple cells)."""

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from keras_svae.plots.images import finish_figure

PANELS = ("tiling", "frequency and orientation", "envelope shape")


def plot_dictionary_analysis(analysis, *, image_shape, path=None, title=None):
    """Three panels of a ``DictionaryAnalysis``, Gabor-like informative atoms
    in colour (by orientation), the others left out:

    - tiling: each atom's centre, with a bar along its stripes whose length is
      twice its envelope's width along them, over the patch's pixel grid;
    - spatial frequency against orientation (a polar plot: angle is the
      orientation of the wave vector, radius the frequency in cycles/pixel);
    - envelope shape: the width along the stripes against the width across
      them (pixels), with the diagonal of round envelopes.

    Args:
        analysis: ``evaluation.analyze_dictionary(...)``.
        image_shape: (height, width) of the atoms.
        path: also write the figure there as a PNG (atomically).
        title: the figure's title.

    Returns:
        The ``matplotlib.figure.Figure`` with the three axes, titled as in
        ``PANELS``.

    Raises:
        ValueError: an ``image_shape`` that is not (height, width).
    """
    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}.")
    height, width = image_shape
    shown = analysis.gabor_like & analysis.informative
    theta = analysis.orientation[shown]
    colours = [_orientation_colour(t) for t in theta]
    figure = Figure(figsize=(13, 4.4), layout="constrained")
    tiling = figure.add_subplot(1, 3, 1)
    # Stripes run perpendicular to the wave vector (theta): direction (-sin, cos)
    # in (column, row) coordinates.
    half = analysis.sigma_across[shown]
    for row, column, t, h, colour in zip(
        analysis.row[shown], analysis.column[shown], theta, half, colours
    ):
        dx, dy = -np.sin(t) * h, np.cos(t) * h
        tiling.plot([column - dx, column + dx], [row - dy, row + dy], color=colour, lw=1.5)
    tiling.scatter(analysis.column[shown], analysis.row[shown], s=6, c="black")
    tiling.set_xlim(-1, width)
    tiling.set_ylim(height, -1)
    tiling.set_aspect("equal")
    tiling.set_xlabel("column (pixels)")
    tiling.set_ylabel("row (pixels)")
    tiling.set_title(f"{PANELS[0]} ({int(shown.sum())} Gabor-like atoms)")
    polar = figure.add_subplot(1, 3, 2, projection="polar")
    polar.scatter(theta, analysis.frequency[shown], s=10, c=colours)
    polar.set_thetamin(0)
    polar.set_thetamax(180)
    polar.set_rmax(0.5)
    polar.set_title(f"{PANELS[1]} (radius: cycles/pixel)")
    shape = figure.add_subplot(1, 3, 3)
    shape.scatter(analysis.sigma_along[shown], analysis.sigma_across[shown], s=10, c=colours)
    limit = max(height, width) / 2
    shape.plot([0, limit], [0, limit], color="grey", lw=0.8, ls="--")
    shape.set_xlim(0, limit)
    shape.set_ylim(0, limit)
    shape.set_xlabel("envelope width across the stripes (pixels)")
    shape.set_ylabel("width along the stripes (pixels)")
    shape.set_title(PANELS[2])
    return finish_figure(figure, path, title)


def _orientation_colour(theta):
    """A cyclic colour for an orientation in [0, pi)."""
    return colormaps["twilight"](float(np.mod(theta, np.pi) / np.pi))
