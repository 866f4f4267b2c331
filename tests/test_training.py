"""The main job: `python -m training.train` trains the paper's three variants."""

import json
import math

import keras
import numpy as np
import pytest

import keras_svae
from keras_svae.data import synthetic_patches
from training import train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default main job (all three variants), run once for these tests."""
    out = tmp_path_factory.mktemp("runs")
    train.main(["--out", str(out)])
    return out


@pytest.mark.parametrize("prior", ["normal", "laplace", "cauchy"])
def test_default_run_reconstructs_below_one_and_a_half_noise_variances(default_run, prior):
    folder = default_run / f"synthetic-{prior}-z10"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["prior"] == prior
    assert metrics["posterior"] == ("cauchy" if prior == "cauchy" else "normal")
    assert metrics["kl_path"] == "analytic"
    assert metrics["mse_over_noise_variance"] < 1.5
    assert all(math.isfinite(v) for v in metrics["train_loss_history"])
    for figure in ("reconstructions.png", "patterns.png"):
        assert (folder / figure).read_bytes()[:8] == PNG_MAGIC
    model = keras.models.load_model(folder / "model.keras")
    test = synthetic_patches(2000, seed=1)
    mse = float(np.mean((np.asarray(model.reconstruct(test.x)) - test.x) ** 2))
    assert mse == pytest.approx(metrics["reconstruction_mse"], rel=1e-4)
    assert not list(default_run.glob(".*")), "temporary folders left behind"


def test_comparison_table_has_a_row_per_variant(default_run):
    from keras_svae.experiment import comparison_table

    results = [json.loads((default_run / f"synthetic-{p}-z10" / "metrics.json").read_text())
               for p in ("normal", "laplace", "cauchy")]
    table = comparison_table(results)
    assert table.count("\n") == 4 and "MSE/noise var" in table
    assert "synthetic-cauchy-z10 | analytic" in table


def test_two_latent_run_writes_spread_and_grid(tmp_path):
    train.main(["--prior", "laplace", "--latent-dim", "2", "--epochs", "1", "--out", str(tmp_path)])
    folder = tmp_path / "synthetic-laplace-z2"
    for figure in ("latent_spread.png", "latent_grid.png"):
        assert (folder / figure).read_bytes()[:8] == PNG_MAGIC


def test_bad_cli_choice_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        train.main(["--prior", "gamma"])
    assert "invalid choice: 'gamma'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data,folder",
    [("cifar", "cifar10"), ("bsds", "bsds300/train"), ("toy", None)],
)
def test_each_data_set_trains_from_the_command_line(data, folder, shared_data, tmp_path):
    argv = ["--data", data, "--prior", "cauchy", "--epochs", "1", "--out", str(tmp_path)]
    if folder:
        argv += ["--data-dir", str(shared_data / folder)]
    assert train.main(argv) == 0
    run = next(tmp_path.glob(f"{data}-cauchy-z*"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert math.isfinite(metrics["test_loss"]) and math.isfinite(metrics["reconstruction_mse"])
    assert (run / "patterns.png").read_bytes()[:8] == PNG_MAGIC
    model = keras.models.load_model(run / "model.keras")
    if data != "toy":  # whitened patches: the fitted whitening travels with the model
        assert model.metadata["whitening"]["method"] == "zca"


def test_missing_data_dir_is_a_clear_error(tmp_path, capsys):
    assert train.main(["--data", "bsds", "--out", str(tmp_path)]) == 2
    assert "--data bsds needs --data-dir" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mnist_trains_with_xla_and_fused_steps(shared_data, tmp_path):
    # mnist's default: jit_compile=True with 32 steps per execution, which
    # SparseVAE runs as one XLA computation (keras_svae.fused).
    argv = ["--data", "mnist", "--data-dir", str(shared_data / "mnist"),
            "--prior", "laplace", "--epochs", "1", "--out", str(tmp_path)]
    assert train.main(argv) == 0
    metrics = json.loads((tmp_path / "mnist-laplace-z10" / "metrics.json").read_text())
    assert metrics["config"]["jit_compile"] is True
    assert metrics["config"]["steps_per_execution"] == 32
    # 784 * log 2 = 543 nats is what pixels of probability 1/2 would cost.
    assert 0 < metrics["test_reconstruction"] < 200
    model = keras.models.load_model(tmp_path / "mnist-laplace-z10" / "model.keras")
    assert model.jit_compile is True and model.steps_per_execution == 32


def test_bad_steps_per_execution_is_a_clear_error(tmp_path, capsys):
    from keras_svae.experiment import ExperimentConfig

    with pytest.raises(ValueError, match="steps_per_execution must be an integer >= 1"):
        ExperimentConfig(steps_per_execution=0)
    assert train.main(["--steps-per-execution", "0", "--out", str(tmp_path)]) == 2
    assert "steps_per_execution must be an integer >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
