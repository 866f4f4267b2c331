"""The natural-image experiment: its runs, its data split, its measures and report."""

import numpy as np
import pytest

from keras_svae import plots
from keras_svae.experiment import ExperimentConfig, load_experiment_data
from keras_svae.experiment.config import DATASET_DEFAULTS
from keras_svae.reproduce.natural import (
    VARIANTS,
    natural_result,
    natural_runs,
    run_natural,
)
from keras_svae.reproduce.natural_report import write_report
from training import natural as cli


def photographs(shared_data):
    return shared_data / "bsds300" / "train"


def test_the_runs_cover_variants_sizes_and_baselines(tmp_path):
    runs = natural_runs(tmp_path, seeds=(0, 1), data_dir="photos", sizes=(169, 288))
    assert len(runs) == 2 * (2 * (len(VARIANTS) + 1) + 1)  # + one ICA per seed
    names = {run.name for run in runs}
    assert "bsds-laplace-z169" in names and "bsds-fista-z288" in names
    assert "bsds-laplace-z169-unitnorm-scale_per_latent-resample1" in names and "bsds-ica" in names
    assert {r.config.latent_dim for r in runs if r.ica} == {144}  # one ICA, whatever the sizes
    first = runs[0].config
    assert first.latent_dim == 169 and first.decoder == "linear" and first.whiten == "zca"
    assert first.likelihood_scale == DATASET_DEFAULTS["bsds"]["likelihood_scale"]
    assert not first.learn_likelihood_scale
    # the learned threshold's Gamma prior is spread over the training set
    threshold = next(r for r in runs if r.pairing == "laplace-threshold").config
    assert threshold.threshold_prior_weighting == "train_set"
    with pytest.raises(ValueError, match="needs data_dir"):
        natural_runs(tmp_path)


def test_every_seed_is_scored_on_the_same_test_patches(shared_data):
    tests = []
    for seed in (0, 1):
        config = ExperimentConfig(data="bsds", data_dir=str(photographs(shared_data)), seed=seed,
                                  max_train=2000, max_test=300, latent_dim=4)  # fmt: skip
        data = load_experiment_data(config)
        tests.append(data.info.undo_preprocessing(data.x_test))
    # Each seed crops its own training patches (and fits its whitening on
    # them), but the held-out crops are the same photographs' same pixels.
    np.testing.assert_allclose(tests[0], tests[1], atol=1e-3)


def test_the_tradeoff_figure_and_its_refusal():
    points = [
        dict(label="a", iwae=-10.0, gabor=40, group="169 latents"),
        dict(label="b", iwae=-12.0, gabor=90, iwae_sd=0.5, gabor_sd=3, group="288"),
    ]
    figure = plots.plot_gabor_tradeoff(points, target=100)
    axis = figure.axes[0]
    assert len(figure.axes) == 1 and "IWAE" in axis.get_xlabel()
    assert sorted(t.get_text() for t in axis.texts) == ["a", "b"]
    with pytest.raises(ValueError, match="label, iwae and gabor"):
        plots.plot_gabor_tradeoff([dict(label="a", iwae=1.0)])


def test_the_command_line_refuses_unknown_variants(capsys):
    assert cli.main(["--variants", "laplace,bogus", "--data-dir", "x"]) == 2
    assert "--variants 'bogus' is not one of" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quick_experiment_measures_its_dictionaries_and_reports(shared_data, tmp_path):
    runs = natural_runs(tmp_path, quick=True, data_dir=photographs(shared_data), sizes=(20,),
                        variants=("laplace-unitnorm-resample", "laplace-threshold"))  # fmt: skip
    states = run_natural(runs, say=lambda s: None, quick=True)
    assert set(states.values()) == {"finished"}
    results = {run.pairing: natural_result(run) for run in runs}
    for run in runs:
        atoms, result = (144 if run.ica else 20), results[run.pairing]
        assert 0 <= result["gabor_like_informative"] <= result["gabor_like"] <= atoms
        assert 0 <= result["nonzeros_per_patch"] <= atoms
    assert results["laplace-threshold"]["zeros_per_patch"] > 0  # exact zeros
    scales = results["laplace-unitnorm-resample"]["prior_scale_quantiles"]
    assert scales[0] <= scales[1] <= scales[2] and scales != [1.0, 1.0, 1.0]
    assert (runs[0].path / "analysis.png").is_file() and (
        runs[-1].path / "dictionary.png"
    ).is_file()
    report = write_report(runs, tmp_path, (0,), quick=True).read_text()
    assert "## 20 latents" in report and "FISTA sparse coding" in report
    assert "## 144 latents" not in report  # complete ICA appears in each size's table
    assert "tradeoff.png" in report and (tmp_path / "tradeoff.png").is_file()


def test_report_only_trains_nothing_and_lists_the_missing_runs(tmp_path):
    assert (
        cli.main(["--out", str(tmp_path), "--report-only", "--data-dir", "x", "--sizes", "169"])
        == 0
    )
    report = (tmp_path / "report.md").read_text()
    assert "natural/seed0/bsds-laplace-z169: not run yet" in report
    assert "no free-column model has finished yet" in report
    assert not (tmp_path / "natural").exists()


def test_a_model_far_below_the_others_is_drawn_at_the_edge():
    points = [dict(label="good", iwae=-180.0, gabor=40), dict(label="far", iwae=-590.0, gabor=27)]
    axis = plots.plot_gabor_tradeoff(points).axes[0]
    labels = sorted(t.get_text() for t in axis.texts)
    assert labels == ["far (-590.0)", "good"]
    assert axis.get_xlim()[0] > -300  # the far model does not set the range


def test_the_reading_says_over_how_many_seeds_each_mean_is():
    from keras_svae.reproduce.natural_report import reading_lines

    def run(iwae, gabor):
        return {"test_iwae": iwae, "gabor_like_informative": gabor, "nonzeros_per_patch": 169.0}

    results = {
        "laplace": {0: run(-184.0, 37), 1: run(-185.0, 35), 2: run(-184.0, 39)},
        "laplace-unitnorm-fixed": {0: run(-223.4, 38)},
    }
    best, most = reading_lines(results)
    assert best.endswith("(-184.33 nats per patch, 37 Gabor-like informative atoms, "
                         "169.0 non-zero codes per patch; mean of 3 seeds)")  # fmt: skip
    assert most.endswith("(38, bound -223.40; 1 seed)"), most


def test_a_tradeoff_point_averages_both_coordinates_over_the_same_seeds():
    from keras_svae.reproduce.natural_report import tradeoff_points

    results = {
        "laplace": {
            0: {"test_iwae": -184.0, "gabor_like_informative": 37},
            1: {"test_iwae": -190.0},  # its dictionary not measured yet
            2: {"test_iwae": -186.0, "gabor_like_informative": 41},
        }
    }
    (point,) = tradeoff_points(results, 169)
    assert point["iwae"] == pytest.approx(-185.0) and point["gabor"] == pytest.approx(39.0)
    assert point["iwae_sd"] == pytest.approx(np.std([-184.0, -186.0], ddof=1))
