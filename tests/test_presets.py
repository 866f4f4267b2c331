"""Presets as data (keras_svae.experiment.presets): the library and paper
presets resolve to the configs and data they always had; the author preset is
the paper's plus the notebooks' quirks."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from keras_svae.experiment import ExperimentConfig
from keras_svae.experiment.datasets import load_experiment_data
from keras_svae.experiment.presets import PRESETS, preset
from keras_svae.reproduce.grid import experiment_config, grid_runs, load_experiments

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"


@pytest.fixture(scope="module")
def experiments():
    return load_experiments(CONFIGS)


# Hand-checked against training/configs and DATASET_DEFAULTS before presets
# became objects: (experiment, preset, prior) -> fields.
UNCHANGED = [
    ("mnist-z10", "paper", "cauchy", dict(recipe="paper", batch_size=100, learning_rate=2e-4,
     encoder_units=(500, 500), kl="sampled", scale_activation="exp", epochs=8)),
    ("mnist-z10", "library", "laplace", dict(recipe="library", batch_size=128, kl="auto",
     encoder_units=(512, 256), scale_activation="softplus", learning_rate=1e-3)),
    ("synthetic", "paper", "cauchy", dict(recipe="paper", coefficients="cauchy", n_train=10000,
     decoder="mlp", epochs=50)),
    ("synthetic", "library", "normal", dict(recipe="library", decoder="linear", epochs=40,
     batch_size=200, learning_rate=6e-3)),
    ("cifar", "paper", "normal", dict(recipe="paper", latent_dim=25, epochs=40, kl="auto")),
    ("cifar", "library", "cauchy", dict(recipe="library", whiten="none", likelihood_scale=0.5,
     learn_likelihood_scale=False, kl_warmup_epochs=3)),
    ("toy", "paper", "laplace", dict(recipe="paper", decoder="linear", encoder_units=(),
     kl="sampled", batch_size=100)),
]  # fmt: skip


@pytest.mark.parametrize("experiment, name, prior, fields", UNCHANGED)
def test_paper_and_library_configs_are_unchanged(experiments, experiment, name, prior, fields):
    config = experiment_config(experiments[experiment], name, prior, seed=0)
    for key, value in fields.items():
        assert getattr(config, key) == value, key
    assert (config.noise, config.noise_alpha, config.kl_quirk) == ("fresh", None, None)
    assert "fixed_noise" not in config.name and "kl_" not in config.name


def test_the_presets_data_recipes():
    library, paper, author = (preset(name) for name in ("library", "paper", "author"))
    assert (library.mnist_binarize, library.mnist_train) == ("dynamic", None)
    assert (paper.mnist_binarize, paper.mnist_train) == (None, 55000)
    assert (library.cifar_patches, paper.cifar_patches) == ("random", "centre")
    assert (library.synthetic, paper.synthetic) == ("noisy", "clipped")
    assert not library.squared_error and paper.squared_error
    # The author's data are the paper's; only its quirks differ.
    keep = ("synthetic", "mnist_binarize", "mnist_train", "cifar_patches", "squared_error")
    assert all(getattr(author, k) == getattr(paper, k) for k in keep)
    assert author.table == "paper" and not paper.prior_fields and not library.variants
    assert list(PRESETS) == ["library", "paper", "author"]


def test_paper_and_author_synthetic_data_are_the_paper_recipe():
    options = dict(data="synthetic", n_train=200, n_test=50, seed=3)
    library = load_experiment_data(ExperimentConfig(**options))
    assert library.likelihood_scale == 0.1 and library.noise_variance == pytest.approx(0.01)
    paper = load_experiment_data(ExperimentConfig(recipe="paper", **options))
    assert paper.likelihood_scale == math.sqrt(0.5 / 2.0)  # "squared error + 0.5 KL"
    assert paper.x_test.min() >= 0.001 and paper.x_test.max() <= 0.999  # clip(B z)
    author = load_experiment_data(ExperimentConfig(recipe="author", **options))
    np.testing.assert_array_equal(author.train, paper.train)
    np.testing.assert_array_equal(author.x_test, paper.x_test)
    assert author.likelihood_scale == paper.likelihood_scale


def test_the_author_preset_adds_the_notebooks_quirks(experiments):
    spec = experiments["mnist-z10"]
    paper = experiment_config(spec, "paper", "cauchy", seed=0)
    cauchy = experiment_config(spec, "author", "cauchy", seed=0)
    assert (cauchy.noise, cauchy.noise_alpha, cauchy.recipe) == ("fixed", 1.0, "author")
    assert cauchy.name == "mnist-cauchy-z10-fixed_noise_alpha1"
    changed = {k for k in vars(paper) if getattr(paper, k) != getattr(cauchy, k)}
    assert changed == {"noise", "noise_alpha", "recipe"}
    normal = experiment_config(spec, "author", "normal", seed=0)
    assert normal.kl_quirk == "variance_as_scale" and normal.noise == "fresh"
    laplace = experiment_config(spec, "author", "laplace", seed=0)
    assert (laplace.kl, laplace.kl_quirk, laplace.noise) == ("sampled", None, "fresh")


def test_the_author_grid_has_both_laplace_states_and_both_alphas(experiments, tmp_path):
    runs = grid_runs({"mnist-z10": experiments["mnist-z10"]}, tmp_path, presets=("author",),
                     seeds=(0,))  # fmt: skip
    by_role = {(run.config.prior, run.role): run.config for run in runs}
    assert set(by_role) == {("normal", "main"), ("laplace", "main"), ("cauchy", "main"),
                            ("laplace", "notebook-normal-kl"), ("cauchy", "alpha2")}  # fmt: skip
    assert by_role["laplace", "notebook-normal-kl"].kl_quirk == "variance_as_scale"
    assert by_role["cauchy", "alpha2"].noise_alpha == 2.0
    assert len({run.path for run in runs}) == len(runs)  # every run its own folder
    # The default grid is unchanged: paper and library, no variants.
    default = grid_runs({"mnist-z10": experiments["mnist-z10"]}, tmp_path, seeds=(0,))
    assert [(r.preset, r.role) for r in default] == [("paper", "main")] * 3 + [
        ("library", "main")
    ] * 3


def test_a_config_with_fixed_noise_checks_it():
    with pytest.raises(ValueError, match=r"needs a location-scale posterior"):
        ExperimentConfig(prior="spike_slab", noise="fixed")
    with pytest.raises(ValueError, match=r"with noise='fresh' .* drop them"):
        ExperimentConfig(noise_alpha=1.0)


def test_runs_finished_before_the_quirk_fields_stay_finished(experiments):
    from keras_svae.experiment.records import same_config

    config = experiment_config(experiments["mnist-z10"], "paper", "cauchy", seed=0)
    saved = json.loads(json.dumps(dataclasses.asdict(config)))
    for key in ("noise", "noise_alpha", "kl_quirk"):
        del saved[key]  # as a metrics.json written before these fields
    assert same_config(saved, config)
    author = experiment_config(experiments["mnist-z10"], "author", "cauchy", seed=0)
    assert not same_config(saved, author)


def test_a_paper_length_grid_trains_the_paper_tables_for_the_papers_epochs(experiments, tmp_path):
    runs = grid_runs(experiments, tmp_path, presets=("paper", "author", "library"), seeds=(0,),
                     paper_length=True)  # fmt: skip
    for run in runs:
        spec = experiments[run.experiment]
        expected = spec["library"]["epochs"] if run.preset == "library" else spec["paper_epochs"]
        assert run.config.epochs == expected, run.label
    z2 = {
        run.config.epochs
        for run in runs
        if run.experiment == "mnist-z2" and run.preset != "library"
    }
    assert z2 == {75}  # the paper's length for MNIST with 2 latents
    with pytest.raises(ValueError, match="cannot be quick"):
        grid_runs(experiments, tmp_path, quick=True, paper_length=True)
    without = {"toy": {k: v for k, v in experiments["toy"].items() if k != "paper_epochs"}}
    with pytest.raises(ValueError, match=r"'toy' has no paper_epochs .* --paper-length"):
        grid_runs(without, tmp_path, presets=("author",), paper_length=True)
    assert grid_runs(without, tmp_path, presets=("library",), paper_length=True)  # not needed


def test_the_author_presets_quirk_free_runs_are_the_paper_presets(experiments, tmp_path):
    runs = grid_runs(experiments, tmp_path, presets=("paper", "author"), seeds=(0,))
    paper = {run.path for run in runs if run.preset == "paper"}
    author = [run for run in runs if run.preset == "author"]
    shared = {(r.experiment, r.config.prior, r.role) for r in author if r.path in paper}
    # The author Laplace run adds no quirk (its Normal-KL state is the variant), and
    # claim 8's KL-path pair of the synthetic Laplace run neither.
    assert shared == {(name, "laplace", "main") for name in experiments} | {
        ("synthetic", "laplace", "kl-pair")
    }
    for run in author:
        if run.path in paper:
            assert run.config.recipe == "paper" and run.config.kl_quirk is None
        else:
            assert run.config.recipe == "author" and run.path.parent.parent.name == "author"


def test_a_grid_of_paper_and_author_trains_the_shared_run_once(experiments, tmp_path):
    from keras_svae.reproduce.grid import run_grid

    runs = grid_runs({"toy": experiments["toy"]}, tmp_path, presets=("paper", "author"),
                     seeds=(0,), quick=True)  # fmt: skip
    said = []
    states = run_grid(runs, tmp_path, verbose=0, say=said.append, quick=True)
    assert set(states.values()) == {"finished"}
    kept = [line for line in said if "finished earlier, kept" in line]
    assert kept == [
        f"toy-laplace-z2: finished earlier, kept ({tmp_path}/paper/seed0/toy-laplace-z2/)"
    ]
    trained = {p.name for p in tmp_path.glob("*/seed0/*") if (p / "metrics.json").is_file()}
    assert len(trained) == len(runs) - 1


def test_the_grids_selections_name_the_valid_choices(experiments):
    from keras_svae.reproduce import parse_presets, select_experiments

    assert parse_presets("both") == ("paper", "library")
    assert parse_presets("paper,Author") == ("paper", "author")
    with pytest.raises(ValueError, match="Valid choices: 'library', 'paper', 'author'"):
        parse_presets("paper,authors")
    with pytest.raises(ValueError, match="names a preset twice"):
        parse_presets("paper,paper")
    assert list(select_experiments(experiments, "toy, mnist-z2")) == ["mnist-z2", "toy"]
    assert select_experiments(experiments, None) is experiments
    with pytest.raises(ValueError, match=r"mnist is not an experiment file; choose from cifar"):
        select_experiments(experiments, "mnist")


def test_seeds_are_one_count_or_one_per_preset():
    from keras_svae.reproduce import parse_seeds, preset_seeds

    both = ("paper", "library")
    assert parse_seeds(None, both, default=3) == {"paper": (0, 1, 2), "library": (0, 1, 2)}
    assert parse_seeds("2", both, default=3) == {"paper": (0, 1), "library": (0, 1)}
    per = parse_seeds("paper=1, library=3", both, default=3)
    assert per == {"paper": (0,), "library": (0, 1, 2)}
    assert preset_seeds(per, "library") == (0, 1, 2) and preset_seeds((0, 1), "paper") == (0, 1)
    with pytest.raises(ValueError, match=r"'author' is not in it"):
        parse_seeds("paper=1,library=3,author=1", both, default=3)
    with pytest.raises(ValueError, match=r"\(paper=N, library=N\); 'library' has none"):
        parse_seeds("paper=1", both, default=3)
    with pytest.raises(ValueError, match=r"a positive integer, got '0'"):
        parse_seeds("0", both, default=3)
    with pytest.raises(ValueError, match="No seeds given for preset 'author'"):
        preset_seeds(per, "author")
