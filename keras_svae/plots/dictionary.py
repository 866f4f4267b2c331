"""The classic figures of a learned dictionary of natural-image patches: where
its Gabor-like atoms sit and how they tile the patch in position,
orientation, spatial frequency and envelope shape (Olshausen and Field, 1996;
Ringach, 2002 for the envelope aspect ratios of V1 simple cells)."""

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from keras_svae.plots.images import finish_figure

PANELS = ("tiling", "frequency and orientation", "envelope shape")
# The trade-off figure's x range below its best bound, in nats.
SPREAD = 60.0


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


def plot_gabor_tradeoff(points, *, path=None, title=None, target=None):
    """The trade-off of a dictionary experiment: Gabor-like atoms against the
    held-out bound, one point per model (mean over seeds, bars one sd).

    Args:
        points: a list of dicts with ``label``, ``iwae`` and ``gabor`` (means)
            and optionally ``iwae_sd``, ``gabor_sd`` and ``group`` (the
            marker's colour, e.g. the number of latents).
        path: also write the figure there as a PNG (atomically).
        title: the figure's title.
        target: an optional Gabor-like count drawn as a dashed line.

    A point more than ``SPREAD`` nats below the best bound is drawn at the
    left edge (a triangle), its bound in its label.

    Returns:
        The ``matplotlib.figure.Figure`` with one axis.

    Raises:
        ValueError: for no points, or a point without a label, iwae or gabor.
    """
    if not points or any(not {"label", "iwae", "gabor"} <= set(p) for p in points):
        raise ValueError("points must be a non-empty list of dicts with label, iwae and gabor.")
    figure = Figure(figsize=(8, 5.5), layout="constrained")
    axis = figure.add_subplot(1, 1, 1)
    groups = list(dict.fromkeys(p.get("group") for p in points))
    colours = colormaps["tab10"]
    # A model far below the others (a collapsed one) would squeeze the rest
    # into a corner: it is drawn at the left edge, its bound in its label.
    edge = max(p["iwae"] for p in points) - SPREAD
    for p in points:
        colour = colours(groups.index(p.get("group")) % 10)
        far = p["iwae"] < edge
        x = edge if far else p["iwae"]
        label = f"{p['label']} ({p['iwae']:.1f})" if far else p["label"]
        axis.errorbar(x, p["gabor"], xerr=None if far else p.get("iwae_sd"),
                      yerr=p.get("gabor_sd"), fmt="<" if far else "o", color=colour,
                      capsize=3)  # fmt: skip
        axis.annotate(label, (x, p["gabor"]), fontsize=7,
                      xytext=(4, 4), textcoords="offset points")  # fmt: skip
    for group in groups:
        if group is not None:
            axis.plot([], [], "o", color=colours(groups.index(group) % 10), label=str(group))
    if target is not None:
        axis.axhline(target, color="grey", ls="--", lw=0.8, label=f"target {target}")
    if any(g is not None for g in groups) or target is not None:
        axis.legend(fontsize=8)
    axis.set_xlabel("held-out IWAE bound on log p(x) per patch (nats; higher is better)")
    axis.set_ylabel("Gabor-like informative atoms (R² ≥ 0.7)")
    return finish_figure(figure, path, title)
