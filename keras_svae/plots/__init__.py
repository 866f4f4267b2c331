"""Figures: the paper's (reconstructions, patterns per latent, the latent
spread, decodes of a latent grid, KL per latent, training curves; ``paper``)
and a learned dictionary's tiling of position, orientation and frequency
(``dictionary``).

Nothing here touches pyplot or the matplotlib backend: every ``plot_*``
function builds a ``matplotlib.figure.Figure`` and returns it, so a notebook
shows it inline (the returned Figure displays itself) and a script never opens
a window or keeps figures alive in pyplot's global state. Each takes
``title=`` (the figure's title) and ``path=``: also write the figure there as a
PNG, through ``keras_svae.files.atomic_path``, so a crash never leaves a
half-written figure and never destroys an existing one.
"""

from keras_svae.plots.dictionary import plot_dictionary_analysis, plot_gabor_tradeoff
from keras_svae.plots.images import as_images, finish_figure
from keras_svae.plots.paper import (
    plot_curve_comparison,
    plot_latent_grid,
    plot_latent_kl,
    plot_latent_spread,
    plot_patterns,
    plot_reconstructions,
    plot_training_curves,
)

__all__ = [
    "as_images",
    "finish_figure",
    "plot_curve_comparison",
    "plot_dictionary_analysis",
    "plot_gabor_tradeoff",
    "plot_latent_grid",
    "plot_latent_kl",
    "plot_latent_spread",
    "plot_patterns",
    "plot_reconstructions",
    "plot_training_curves",
]
