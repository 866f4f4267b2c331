"""The paper's figures: reconstructions, patterns per latent, the latent spread,
decodes of a latent grid, KL per latent and the training curves."""

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_svae.plots.images import (
    COLUMNS,
    TILE,
    as_images,
    draw_image,
    finish_figure,
    image_limits,
)

MAX_CATEGORIES = 20  # more integer labels (one per photograph?) get a continuous colormap
CURVES = ("loss", "reconstruction", "kl")  # the first training-curve panels, in this order


def plot_reconstructions(x, reconstructions, *, path=None, n=10, image_shape=None, title=None):
    """Inputs (top row) above their reconstructions (bottom row).

    Each input and its reconstruction share one intensity scale, so a
    reconstruction that is too weak or too blurry looks it (rather than being
    stretched to full contrast on its own).

    Args:
        x: examples, as for ``as_images``.
        reconstructions: ``model.reconstruct(x)``, same shape as ``x``.
        n: show the first ``n`` examples.
        image_shape: how to show flat examples (see ``as_images``).

    Returns:
        The ``matplotlib.figure.Figure``: 2 x n image axes.
    """
    n = min(int(n), len(x))
    originals = as_images(x[:n], image_shape)
    decoded = as_images(reconstructions[:n], image_shape)
    if decoded.shape != originals.shape:
        raise ValueError(
            f"reconstructions must match x: got {decoded.shape} for inputs {originals.shape}. "
            "Pass model.reconstruct(x) for the same x."
        )
    figure = Figure(figsize=(TILE * n + 0.6, 2 * TILE + 0.5), layout="constrained")
    axes = figure.subplots(2, n, squeeze=False)
    for i in range(n):
        low, high = image_limits(originals[i], decoded[i])
        draw_image(axes[0, i], originals[i], low, high)
        draw_image(axes[1, i], decoded[i], low, high)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("reconstruction")
    return finish_figure(figure, path, title)


def plot_patterns(
    patterns, *, path=None, order=None, labels=None, true_bases=None, image_shape=None, title=None
):
    """One tile per latent: the pattern it adds to the decoded data.

    Each tile has its own grey scale centred at 0 (mid-grey), so the shape of
    weak patterns stays visible; put their strength in ``labels``.

    Args:
        patterns: ``evaluation.latent_patterns(model)``, [latent_dim, ...].
        order: the latents to show, in this order, e.g. ``np.argsort(-kl)`` for
            the most used latents first; a subset hides the rest.
        labels: one title per latent, indexed like ``patterns`` (they follow
            ``order``), e.g. ``[f"z{k}  KL {v:.1f}" for k, v in enumerate(kl)]``;
            default ``"z<k>"``.
        true_bases: the true basis functions, if known (synthetic data): drawn
            as an extra row below the learned patterns for comparison.
        image_shape: how to show flat examples (see ``as_images``).

    Returns:
        The ``matplotlib.figure.Figure``: one axis per shown pattern and per
        true basis.
    """
    images = as_images(patterns, image_shape)
    order = list(range(len(images))) if order is None else [int(k) for k in order]
    if not order or any(not 0 <= k < len(images) for k in order):
        raise ValueError(
            f"order must list latents between 0 and {len(images) - 1}, got {order!r}. Pass "
            "e.g. np.argsort(-kl_per_latent)."
        )
    if labels is None:
        labels = [f"z{k}" for k in range(len(images))]
    elif len(labels) != len(images):
        raise ValueError(
            f"labels must hold one title per latent ({len(images)}), got {len(labels)}. "
            "Give them in latent order; they follow `order`."
        )
    true = [] if true_bases is None else as_images(true_bases, image_shape)
    columns = min(COLUMNS, max(len(order), len(true)))
    learned_rows = math.ceil(len(order) / columns)
    rows = learned_rows + math.ceil(len(true) / columns)
    size = (TILE * columns + 0.6, (TILE + 0.25) * rows + 0.4)
    figure = Figure(figsize=size, layout="constrained")
    grid = figure.add_gridspec(rows, columns)
    first_true = learned_rows * columns
    tiles = [(i, images[k], str(labels[k])) for i, k in enumerate(order)]
    tiles += [(first_true + j, image, f"true {j}") for j, image in enumerate(true)]
    for position, image, label in tiles:
        axis = figure.add_subplot(grid[position // columns, position % columns])
        draw_image(axis, image, *image_limits(image, symmetric=True))
        axis.set_title(label, fontsize=8)
        if len(true) and position in (0, first_true):
            axis.set_ylabel("learned" if position == 0 else "true")
    return finish_figure(figure, path, title)


def plot_latent_spread(
    codes, *, path=None, labels=None, class_names=None, label_name=None, limit=None, title=None
):
    """Scatter of 2-D codes: how well the classes separate.

    Integer (or string) labels get one tab10/tab20 colour per class and a
    legend; float labels (e.g. the toy data's amplitude) a continuous colormap
    with a colour bar.

    Args:
        codes: [n, 2] latent codes, e.g. ``evaluation.codes(model, x)``; for a
            model with more latents pass two of them, ``codes[:, [i, j]]``.
        labels: optional [n] values to colour the points by.
        class_names: names of integer classes (``class_names[label]``), e.g.
            ``info.class_names``.
        label_name: legend title or colour-bar label, e.g. "digit" or "amplitude".
        limit: show [-limit, limit] on both axes (useful for Cauchy codes with far
            outliers); by default the 1st to 99th percentiles, so far outliers
            fall outside the view.

    Returns:
        The ``matplotlib.figure.Figure``: one scatter axis (plus a colour bar for
        continuous labels).
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] != 2 or len(codes) == 0:
        raise ValueError(
            f"The latent spread needs codes of shape (n, 2), n >= 1, got shape {codes.shape}. "
            "For a model with more latents pass two of them, codes[:, [i, j]]."
        )
    x, y = codes[:, 0], codes[:, 1]
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axis = figure.add_subplot()
    if labels is None:
        axis.scatter(x, y, s=2, alpha=0.6)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(codes),):
            raise ValueError(
                f"labels must hold one value per code, shape ({len(codes)},), got shape "
                f"{labels.shape}. For several label columns (e.g. the toy amplitudes) pass "
                "one, e.g. labels[:, 0]."
            )
        values = np.unique(labels)
        kind = labels.dtype.kind
        if kind in "USO" or (kind in "iub" and len(values) <= MAX_CATEGORIES):
            colours = colormaps["tab10" if len(values) <= 10 else "tab20"]
            for i, value in enumerate(values):
                mask = labels == value
                name = str(value)
                if class_names is not None and kind in "iu":
                    name = str(class_names[int(value)]) if value < len(class_names) else name
                axis.scatter(x[mask], y[mask], s=2, alpha=0.6, color=colours(i), label=name)
            axis.legend(
                title=label_name, markerscale=4, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1)
            )
        else:
            points = axis.scatter(x, y, c=labels.astype(np.float64), s=2, alpha=0.6)
            figure.colorbar(points, ax=axis, label=label_name)
    if limit is None:
        finite = codes[np.all(np.isfinite(codes), axis=1)]
        low, high = np.percentile(finite, [1, 99], axis=0)
        margin = np.where(high > low, 0.1 * (high - low), 0.5)
        low, high = low - margin, high + margin
    else:
        low, high = np.full(2, -float(limit)), np.full(2, float(limit))
    axis.set_xlim(low[0], high[0])
    axis.set_ylim(low[1], high[1])
    axis.set_xlabel("z0")
    axis.set_ylabel("z1")
    return finish_figure(figure, path, title)


def _prior_quantiles(model):
    """The prior's per-latent inverse CDF: probabilities [n] -> values [n, latent_dim]."""
    try:
        marginal = model.prior.distribution.quantile
        marginal(np.float32(0.5))
    except (AttributeError, NotImplementedError) as error:
        raise ValueError(
            "The model's prior has no per-latent quantile function for the grid "
            f"({type(error).__name__}). Pass quantiles=, e.g. scipy.stats.cauchy(0, 1).ppf, "
            "or extent= for a uniform grid."
        ) from None
    return lambda p: marginal(np.asarray(p, np.float32)[:, None])


def _grid_values(model, n, quantiles, mass, extent):
    """The grid's values [n, latent_dim] (increasing) and the latents' medians."""
    if extent is not None:
        values = np.linspace(-extent, extent, n)
        return np.repeat(values[:, None], model.latent_dim, axis=1), np.zeros(model.latent_dim)
    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass!r}; e.g. 0.9 (5% to 95%).")
    edge = (1 - mass) / 2
    p = np.append(np.linspace(edge, 1 - edge, n), 0.5)
    values = np.asarray((quantiles or _prior_quantiles(model))(p), dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    if values.shape not in ((n + 1, 1), (n + 1, model.latent_dim)):
        raise ValueError(
            f"quantiles(p) must return one value per probability, shape ({n + 1},), or one "
            f"per probability and latent, ({n + 1}, {model.latent_dim}); got {values.shape}."
        )
    values = np.broadcast_to(values, (n + 1, model.latent_dim))
    return values[:n], values[n]


def plot_latent_grid(
    model, *, path=None, n=15, quantiles=None, mass=0.9, extent=None, image_shape=None, title=None
):
    """Decode an n x n grid of the latents z0 and z1, drawn as one image.

    The grid's axes are quantiles of the prior's marginal, evenly spaced in
    probability over its central ``mass`` (5% to 95% by default), so for a
    Cauchy or Laplace prior the grid covers where the codes are rather than a
    fixed box. Any other latents are held at the prior's median. The tiles are
    assembled into one array (no per-tile axes, no gaps) and the ticks give
    the latent values.

    Args:
        model: a trained (built) SparseVAE with at least two latents.
        n: grid points per axis.
        quantiles: the inverse CDF of the marginal, mapping probabilities [m] to
            values [m] or [m, latent_dim], e.g. ``scipy.stats.cauchy(0, 1).ppf``;
            default the prior's own, ``model.prior.distribution.quantile``.
        mass: the central probability mass the grid spans.
        extent: instead of quantiles, a uniform grid over [-extent, extent].
        image_shape: how to show flat examples (see ``as_images``).

    Returns:
        The ``matplotlib.figure.Figure``: one image axis.
    """
    n = int(n)
    if n < 1 or model.latent_dim < 2:
        raise ValueError(
            f"The latent grid needs n >= 1 and a model with at least 2 latents, got n={n} and "
            f"latent_dim={model.latent_dim}. For one latent, decode a line of values instead."
        )
    values, median = _grid_values(model, n, quantiles, mass, extent)
    xs, ys = values[:, 0], values[::-1, 1]  # the top row holds the largest z1
    z = np.tile(median.astype(np.float32), (n * n, 1))
    z[:, 0] = np.tile(xs, n)
    z[:, 1] = np.repeat(ys, n)
    decoded = [np.asarray(model.decode(z[i : i + 1024])) for i in range(0, len(z), 1024)]
    images = as_images(np.concatenate(decoded), image_shape)
    height, width = images.shape[1:3]
    tiles = images.reshape(n, n, *images.shape[1:]).swapaxes(1, 2)
    mosaic = tiles.reshape(n * height, n * width, *images.shape[3:])
    side = min(max(4.0, 0.5 * n), 12.0)
    figure = Figure(figsize=(side + 1.0, side + 0.6), layout="constrained")
    axis = figure.add_subplot()
    draw_image(axis, mosaic, *image_limits(mosaic))
    shown = np.unique(np.linspace(0, n - 1, min(n, 7)).round().astype(int))
    axis.set_xticks(shown * width + (width - 1) / 2, [f"{xs[i]:.3g}" for i in shown])
    axis.set_yticks(shown * height + (height - 1) / 2, [f"{ys[i]:.3g}" for i in shown])
    axis.set_xlabel("z0")
    axis.set_ylabel("z1")
    return finish_figure(figure, path, title)


def plot_latent_kl(kl_per_latent, *, path=None, sort=False, threshold=None, title=None):
    """Bars of the KL each latent carries: which latents the model uses.

    Args:
        kl_per_latent: [latent_dim] mean KL per latent in nats (average the
            per-example values over the data first).
        sort: largest KL first (the bars keep their "z<k>" names).
        threshold: draw a dashed line at this KL, e.g. the level below which a
            latent counts as collapsed.

    Returns:
        The ``matplotlib.figure.Figure``: one bar-chart axis.
    """
    kl = np.asarray(kl_per_latent, dtype=np.float64)
    if kl.ndim != 1 or len(kl) == 0:
        raise ValueError(
            f"kl_per_latent must be one value per latent, shape (latent_dim,), got shape "
            f"{kl.shape}. For per-example values pass their mean, kl.mean(axis=0)."
        )
    order = np.argsort(-kl, kind="stable") if sort else np.arange(len(kl))
    figure = Figure(figsize=(max(4.0, 0.35 * len(kl) + 1.5), 3.2), layout="constrained")
    axis = figure.add_subplot()
    axis.bar(np.arange(len(kl)), kl[order], color="tab:blue")
    step = max(1, len(kl) // 40)
    axis.set_xticks(np.arange(0, len(kl), step), [f"z{k}" for k in order[::step]], fontsize=8)
    axis.set_ylabel("KL (nats)")
    if threshold is not None:
        axis.axhline(threshold, linestyle="--", color="grey", label=f"threshold {threshold:g}")
        axis.legend(fontsize=8)
    return finish_figure(figure, path, title)


def plot_training_curves(history, *, path=None, names=None, validation_freq=None, title=None):
    """One panel per training curve, with its validation curve (``val_``) dashed.

    Args:
        history: ``model.fit(...)`` (a ``keras.callbacks.History``) or its
            ``.history`` dict, e.g. ``{"loss": [...], "val_loss": [...], ...}``.
        names: the curves to show; default every training curve, with loss,
            reconstruction and kl first.
        validation_freq: ``fit``'s ``validation_freq`` (validation after every
            this many epochs); inferred from the curves' lengths when None.

    Returns:
        The ``matplotlib.figure.Figure``: one axis per curve.
    """
    history = dict(getattr(history, "history", history))
    if names is None:
        present = [k for k in history if not k.startswith("val_")]
        names = [k for k in CURVES if k in present]
        names += sorted(k for k in present if k not in CURVES)
    missing = [k for k in names if k not in history]
    if not names or missing:
        raise ValueError(
            f"No curves {missing or ''} to plot in a history with keys {sorted(history)}. Pass "
            "model.fit(...).history, e.g. {'loss': [...], 'val_loss': [...]}."
        )
    figure = Figure(figsize=(3.8 * len(names), 3.2), layout="constrained")
    for axis, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        values = np.asarray(history[name], dtype=np.float64)
        axis.plot(np.arange(1, len(values) + 1), values, label="training")
        if f"val_{name}" in history:
            validation = np.asarray(history[f"val_{name}"], dtype=np.float64)
            every = validation_freq or max(1, len(values) // max(1, len(validation)))
            epochs = every * np.arange(1, len(validation) + 1)
            axis.plot(epochs, validation, "--", label="validation")
            axis.legend(fontsize=8)
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    return finish_figure(figure, path, title)


def plot_curve_comparison(histories, *, path=None, names=("kl", "reconstruction"), title=None):
    """Training curves of several runs on shared axes: one panel per curve,
    one line per run (e.g. the same model with fixed and with fresh noise).

    Args:
        histories: ``{run label: history}``, each history a ``.history``
            dict as `plot_training_curves` takes.
        names: the curves to compare, one panel each.

    Returns:
        The ``matplotlib.figure.Figure``: one axis per curve, a legend of the runs.

    Raises:
        ValueError: when there is no run, or a run lacks one of ``names``.
    """
    histories = {label: dict(getattr(h, "history", h)) for label, h in histories.items()}
    lacking = [(label, n) for label, h in histories.items() for n in names if n not in h]
    if not histories or lacking:
        what = f"{lacking[0][0]!r} has no curve {lacking[0][1]!r}" if lacking else "no runs"
        raise ValueError(
            f"Nothing to compare: {what}. Pass {{label: model.fit(...).history}} with the "
            "curves named in names."
        )
    figure = Figure(figsize=(4.2 * len(names), 3.2), layout="constrained")
    for axis, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        for label, history in histories.items():
            values = np.asarray(history[name], dtype=np.float64)
            axis.plot(np.arange(1, len(values) + 1), values, label=label)
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.axes[0].legend(fontsize=8)
    return finish_figure(figure, path, title)
