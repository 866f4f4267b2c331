"""The figures: each plot returns a Figure with the expected panels, saves a
valid PNG atomically with path=, and importing the library leaves the
matplotlib backend alone."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from matplotlib.figure import Figure

import keras_svae
from keras_svae import plots
from keras_svae.files import PARTIAL_MARK

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def model():
    return keras_svae.SparseVAE(
        latent_dim=2,
        data_shape=(16,),
        prior="cauchy",
        encoder_units=(8,),
        decoder_units=(8,),
        seed=0,
    )


def _figures(model):
    """One call of every plot function: name -> (function, arguments)."""
    images = RNG.random((6, 16)).astype(np.float32)
    return {
        "reconstructions": lambda **k: plots.plot_reconstructions(images, images * 0.5, **k),
        "patterns": lambda **k: plots.plot_patterns(images, **k),
        "latent_spread": lambda **k: plots.plot_latent_spread(RNG.normal(size=(50, 2)), **k),
        "latent_grid": lambda **k: plots.plot_latent_grid(model, n=3, **k),
        "latent_kl": lambda **k: plots.plot_latent_kl([0.5, 2.0, 0.0], **k),
        "training_curves": lambda **k: plots.plot_training_curves({"loss": [2.0, 1.0]}, **k),
        "curve_comparison": lambda **k: plots.plot_curve_comparison(
            {"a": {"kl": [1.0, 2.0], "reconstruction": [3.0, 2.0]}}, **k
        ),
    }


def test_as_images_shapes():
    assert plots.as_images(np.zeros((3, 16))).shape == (3, 4, 4)
    assert plots.as_images(np.zeros((3, 12)), image_shape=(3, 4)).shape == (3, 3, 4)
    assert plots.as_images(np.zeros((3, 5, 5, 1))).shape == (3, 5, 5)
    assert plots.as_images(np.zeros((3, 5, 5, 3))).shape == (3, 5, 5, 3)
    with pytest.raises(ValueError, match="size 12 as square images.*image_shape="):
        plots.as_images(np.zeros((3, 12)))
    with pytest.raises(ValueError, match=r"shape \(5, 5, 2\).*image_shape="):
        plots.as_images(np.zeros((3, 5, 5, 2)))


def test_reconstructions_share_one_scale_per_pair():
    x = RNG.random((4, 5, 5, 1)).astype(np.float32)
    figure = plots.plot_reconstructions(x, 0.2 * x, n=3, title="t")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2 * 3
    top, bottom = figure.axes[:3], figure.axes[3:]
    assert top[0].get_ylabel() == "input" and bottom[0].get_ylabel() == "reconstruction"
    for i in range(3):
        low, high = top[i].images[0].get_clim()
        assert (low, high) == bottom[i].images[0].get_clim()
        assert low == pytest.approx(min(x[i].min(), 0.2 * x[i].min()), abs=1e-6)
        assert high == pytest.approx(x[i].max(), abs=1e-6)
    with pytest.raises(ValueError, match="reconstructions must match x"):
        plots.plot_reconstructions(x, x[:, :4, :4])


def test_patterns_order_labels_and_true_bases():
    patterns = RNG.normal(size=(12, 25))
    assert len(plots.plot_patterns(patterns).axes) == 12
    labels = [f"z{k}  KL {k / 10:.1f}" for k in range(12)]
    figure = plots.plot_patterns(
        patterns, order=[3, 0, 7], labels=labels, true_bases=RNG.normal(size=(5, 5, 5))
    )
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["z3  KL 0.3", "z0  KL 0.0", "z7  KL 0.7"] + [f"true {j}" for j in range(5)]
    assert figure.axes[0].get_ylabel() == "learned" and figure.axes[3].get_ylabel() == "true"
    # Each pattern is centred at 0 on its own scale.
    low, high = figure.axes[0].images[0].get_clim()
    assert low == -high == pytest.approx(-np.abs(patterns[3]).max())
    with pytest.raises(ValueError, match="order must list latents between 0 and 11"):
        plots.plot_patterns(patterns, order=[12])
    with pytest.raises(ValueError, match="one title per latent"):
        plots.plot_patterns(patterns, labels=["a"])


def test_latent_spread_categorical_and_continuous():
    codes = RNG.normal(size=(200, 2))
    plain = plots.plot_latent_spread(codes)
    assert len(plain.axes) == 1 and plain.axes[0].get_legend() is None
    classes = plots.plot_latent_spread(
        codes, labels=np.arange(200) % 3, class_names=["a", "b", "c"], label_name="class"
    )
    assert len(classes.axes) == 1  # no colour bar
    legend = classes.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c"]
    assert legend.get_title().get_text() == "class"
    amplitude = plots.plot_latent_spread(codes, labels=RNG.random(200), label_name="amplitude")
    assert len(amplitude.axes) == 2  # the scatter and its colour bar
    assert amplitude.axes[1].get_ylabel() == "amplitude"
    limited = plots.plot_latent_spread(codes, limit=2.0)
    assert limited.axes[0].get_xlim() == (-2.0, 2.0)
    with pytest.raises(ValueError, match=r"labels\[:, 0\]"):
        plots.plot_latent_spread(codes, labels=RNG.random((200, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\).*codes\[:, \[i, j\]\]"):
        plots.plot_latent_spread(RNG.normal(size=(10, 3)))


def test_latent_grid_is_one_image_on_prior_quantiles(model):
    figure = plots.plot_latent_grid(model, n=3)
    assert len(figure.axes) == 1
    (image,) = figure.axes[0].images
    mosaic = np.asarray(image.get_array())
    assert mosaic.shape == (12, 12)  # 3 x 3 tiles of 4 x 4, no gaps
    # Cauchy(0, 1) quantiles at 5%, 50%, 95%; the top row holds the largest z1.
    values = scipy.stats.cauchy.ppf([0.05, 0.5, 0.95])
    ticks = [float(t.get_text()) for t in figure.axes[0].get_xticklabels()]
    np.testing.assert_allclose(ticks, values, rtol=1e-2)
    z = np.array([[values[0], values[2]], [values[1], values[2]], [values[0], values[0]]])
    tiles = np.asarray(model.decode(z.astype(np.float32))).reshape(3, 4, 4)
    np.testing.assert_allclose(mosaic[0:4, 0:4], tiles[0], atol=1e-5)
    np.testing.assert_allclose(mosaic[0:4, 4:8], tiles[1], atol=1e-5)
    np.testing.assert_allclose(mosaic[8:12, 0:4], tiles[2], atol=1e-5)
    # scipy's quantile function gives the same grid.
    same = plots.plot_latent_grid(model, n=3, quantiles=scipy.stats.cauchy.ppf)
    np.testing.assert_allclose(np.asarray(same.axes[0].images[0].get_array()), mosaic, atol=1e-5)
    wide = plots.plot_latent_grid(model, n=3, mass=0.98)
    assert float(wide.axes[0].get_xticklabels()[-1].get_text()) > values[2]
    with pytest.raises(ValueError, match="quantiles"):
        plots.plot_latent_grid(model, n=3, quantiles=lambda p: np.zeros(7))
    with pytest.raises(ValueError, match="at least 2 latents"):
        plots.plot_latent_grid(keras_svae.SparseVAE(latent_dim=1, data_shape=(16,)))


def test_latent_kl_and_training_curves():
    figure = plots.plot_latent_kl([0.5, 2.0, 0.0], sort=True, threshold=0.1)
    (axis,) = figure.axes
    assert [bar.get_height() for bar in axis.patches] == [2.0, 0.5, 0.0]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["z1", "z0", "z2"]
    with pytest.raises(ValueError, match=r"kl.mean\(axis=0\)"):
        plots.plot_latent_kl(np.ones((4, 3)))
    history = {
        "kl": [1.0, 0.5],
        "loss": [3.0, 2.0],
        "val_loss": [3.5, 2.5],
        "reconstruction": [2, 1],
    }
    figure = plots.plot_training_curves(history)
    assert [axis.get_title() for axis in figure.axes] == ["loss", "reconstruction", "kl"]
    assert len(figure.axes[0].lines) == 2 and len(figure.axes[2].lines) == 1
    with pytest.raises(ValueError, match="No curves"):
        plots.plot_training_curves({})


@pytest.mark.parametrize("name", list(_figures(None)))
def test_every_plot_saves_a_png(tmp_path, model, name):
    path = tmp_path / "figures" / f"{name}.png"
    figure = _figures(model)[name](path=path, title=name)
    assert isinstance(figure, Figure)
    assert path.read_bytes().startswith(PNG_HEADER)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_a_failed_save_keeps_the_existing_file(tmp_path, monkeypatch):
    good = tmp_path / "patterns.png"
    plots.plot_patterns(RNG.normal(size=(3, 16)), path=good)
    before = good.read_bytes()

    def broken_savefig(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(PNG_HEADER[:4])  # half written
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plots.plot_patterns(RNG.normal(size=(3, 16)), path=good)
    assert good.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]


def test_saving_under_a_file_fails_and_keeps_that_file(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("keep me")
    with pytest.raises(OSError):
        plots.plot_latent_kl([1.0, 2.0], path=blocker / "kl.png")
    assert blocker.read_text() == "keep me"


@pytest.mark.slow
def test_importing_the_library_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib; matplotlib.use('pdf'); b = matplotlib.get_backend(); "
        "import keras_svae, keras_svae.callbacks, keras_svae.plots; "
        "assert matplotlib.get_backend() == b, (b, matplotlib.get_backend())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_curve_comparison_draws_one_line_per_run_in_each_panel(tmp_path):
    from keras_svae.plots import plot_curve_comparison

    fresh = {"kl": [0.4, 0.1, 0.01], "reconstruction": [505.0, 502.0, 501.5]}
    fixed = {"kl": [0.4, 2.0, 5.0], "reconstruction": [505.0, 490.0, 480.0]}
    figure = plot_curve_comparison({"fresh": fresh, "fixed": fixed}, path=tmp_path / "c.png")
    assert [axis.get_title() for axis in figure.axes] == ["kl", "reconstruction"]
    for axis, name in zip(figure.axes, ("kl", "reconstruction"), strict=True):
        lines = axis.get_lines()
        assert [list(line.get_ydata()) for line in lines] == [fresh[name], fixed[name]]
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["fresh", "fixed"]
    assert (tmp_path / "c.png").stat().st_size > 0
    with pytest.raises(ValueError, match="'fixed' has no curve 'loss'"):
        plot_curve_comparison({"fresh": fresh | {"loss": [1.0]}, "fixed": fixed}, names=("loss",))
    with pytest.raises(ValueError, match="Nothing to compare: no runs"):
        plot_curve_comparison({})
