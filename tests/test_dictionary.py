"""Dictionary analysis: the Gabor fit recovers the parameters of known Gabors,
in the canonical form reports print (orientation modulo pi)."""

import numpy as np
import pytest

from keras_svae.evaluation import analyze_dictionary, canonical_gabor, gabor_image

SHAPE = (12, 12)
# amplitude, row, column, orientation, frequency, phase, sigma_along, sigma_across, offset
TRUE = np.array([
    [1.0, 5.5, 5.5, 0.3, 0.15, 0.0, 1.8, 2.5, 0.0],
    [-0.7, 4.0, 7.0, 2.0, 0.22, 1.0, 1.5, 2.0, 0.05],
    [2.0, 7.0, 4.5, 4.0, 0.10, -2.0, 2.2, 3.5, 0.0],  # orientation past pi
    [0.5, 6.0, 6.0, 1.2, 0.30, 0.5, 1.2, 1.6, -0.1],
])  # fmt: skip


def angle_difference(a, b, period):
    d = np.mod(a - b, period)
    return np.minimum(d, period - d)


def test_gabor_fit_recovers_known_parameters():
    rng = np.random.default_rng(0)
    atoms = np.stack([gabor_image(p, SHAPE) for p in TRUE])
    atoms += 0.01 * rng.normal(size=atoms.shape)  # a little noise, as in learned atoms
    analysis = analyze_dictionary(atoms, SHAPE)
    expected = canonical_gabor(TRUE)
    assert np.all(analysis.r2 > 0.97)
    assert analysis.gabor_like.all()
    np.testing.assert_allclose(analysis.row, expected[:, 1], atol=0.3)
    np.testing.assert_allclose(analysis.column, expected[:, 2], atol=0.3)
    assert np.all(angle_difference(analysis.orientation, expected[:, 3], np.pi) < 0.05)
    np.testing.assert_allclose(analysis.frequency, expected[:, 4], atol=0.01)
    assert np.all(angle_difference(analysis.phase, expected[:, 5], 2 * np.pi) < 0.2)
    np.testing.assert_allclose(analysis.sigma_along, expected[:, 6], rtol=0.1)
    np.testing.assert_allclose(analysis.sigma_across, expected[:, 7], rtol=0.1)
    assert np.all((analysis.orientation >= 0) & (analysis.orientation < np.pi))
    np.testing.assert_allclose(analysis.aspect_ratio, expected[:, 7] / expected[:, 6], rtol=0.15)


def test_canonical_form_draws_the_same_image():
    rng = np.random.default_rng(1)
    params = TRUE.copy()
    params[:, 3] += rng.integers(-3, 4, size=len(params)) * np.pi  # any number of half-turns
    canonical = canonical_gabor(params)
    for raw, tidy in zip(params, canonical):
        np.testing.assert_allclose(gabor_image(raw, SHAPE), gabor_image(tidy, SHAPE), atol=1e-9)
    assert np.all(canonical[:, 0] > 0)
    assert np.all((canonical[:, 3] >= 0) & (canonical[:, 3] < np.pi))
    assert np.all((canonical[:, 5] > -np.pi) & (canonical[:, 5] <= np.pi))


@pytest.mark.slow
def test_summary_counts_gabor_like_atoms_among_informative_ones():
    rng = np.random.default_rng(2)
    atoms = np.concatenate([
        np.stack([gabor_image(p, SHAPE) for p in TRUE]),
        rng.normal(size=(4, *SHAPE)),  # white noise: not Gabor-like
        np.zeros((1, *SHAPE)),  # a dead atom: constant
    ])  # fmt: skip
    informative = np.array([True, True, False, False, True, True, False, False, False])
    summary = analyze_dictionary(atoms, SHAPE, informative=informative).summary()
    assert summary["atoms"] == 9 and summary["gabor_like"] == 4
    assert summary["gabor_fraction"] == pytest.approx(4 / 9)
    assert summary["informative"] == 4 and summary["gabor_like_informative"] == 2
    assert summary["gabor_fraction_informative"] == pytest.approx(0.5)
    rows = analyze_dictionary(atoms[:2], SHAPE).to_rows()
    assert [r["atom"] for r in rows] == [0, 1] and all(r["gabor_like"] for r in rows)


def test_bad_mask_is_refused_with_its_shape():
    atoms = np.stack([gabor_image(p, SHAPE) for p in TRUE])
    with pytest.raises(ValueError, match=r"boolean mask with one entry per atom, shape \(4,\)"):
        analyze_dictionary(atoms, SHAPE, informative=np.ones(3, bool))
    with pytest.raises(ValueError, match=r"threshold is an R\^2"):
        analyze_dictionary(atoms, SHAPE, threshold=0.0)


def test_dictionary_figure_has_its_three_panels(tmp_path):
    from keras_svae import plots

    rng = np.random.default_rng(3)
    atoms = np.concatenate([np.stack([gabor_image(p, SHAPE) for p in TRUE]),
                            rng.normal(size=(2, *SHAPE))])  # fmt: skip
    analysis = analyze_dictionary(atoms, SHAPE)
    figure = plots.plot_dictionary_analysis(analysis, image_shape=SHAPE, path=tmp_path / "d.png")
    titles = [axis.get_title() for axis in figure.axes]
    assert len(figure.axes) == 3
    assert titles[0].startswith("tiling (4 Gabor-like atoms)")
    assert titles[1].startswith("frequency and orientation") and titles[2] == "envelope shape"
    assert len(figure.axes[0].lines) == 4  # one bar per Gabor-like atom
    assert (tmp_path / "d.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"image_shape must be \(height, width\)"):
        plots.plot_dictionary_analysis(analysis, image_shape=(12, 12, 1))
