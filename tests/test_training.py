"""The main job: `keras-svae-train` (`python -m training.train`) trains the paper's
three variants, measures them and writes their figures."""

import json
import math

import keras
import numpy as np
import pytest

from keras_svae import evaluation
from keras_svae.cli import train_main
from keras_svae.data import synthetic_patches

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default main job (all three variants), run once for these tests."""
    out = tmp_path_factory.mktemp("runs")
    train_main(["--out", str(out)])
    return out


@pytest.mark.parametrize("prior", ["normal", "laplace", "cauchy"])
def test_default_run_denoises_and_reports_what_it_measured(default_run, prior):
    folder = default_run / f"synthetic-{prior}-z10"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["prior"] == prior
    assert metrics["posterior"] == ("cauchy" if prior == "cauchy" else "normal")
    assert metrics["kl_path"] == "analytic"
    # No prior encodes noise: closer to the clean patches than the noise is.
    assert metrics["mse_clean"] < metrics["noise_variance"]
    assert math.isfinite(metrics["test_iwae"]) and metrics["iwae_k"] == 1000
    assert ("test_elbo" in metrics) == (prior != "cauchy")  # a Cauchy ELBO is -inf here
    assert all(math.isfinite(v) for v in metrics["history"]["loss"])
    assert len(metrics["history"]["val_loss"]) == 10  # validated every 4th of 40 epochs
    for figure in ("reconstructions.png", "patterns.png", "latent_kl.png", "training_curves.png"):
        assert (folder / figure).read_bytes()[:8] == PNG_MAGIC
    model = keras.models.load_model(folder / "model.keras")
    # 40 epochs of exactly one pass each (100 batches of 200): no execution
    # of 32 steps runs into the next epoch's batches (check_epoch_steps).
    assert int(model.optimizer.iterations) == 40 * 100
    test = synthetic_patches(2000, seed=1)
    reconstructions = np.asarray(model.reconstruct(test.x))
    assert float(np.mean((reconstructions - test.x) ** 2)) == pytest.approx(
        metrics["mse"], rel=1e-4
    )
    assert float(np.mean((reconstructions - test.clean) ** 2)) == pytest.approx(
        metrics["mse_clean"], rel=1e-4
    )
    assert not list(default_run.glob(".*")), "temporary folders left behind"


def test_default_run_recovers_the_true_bases_with_a_sparse_prior(default_run):
    recovery = {
        prior: json.loads((default_run / f"synthetic-{prior}-z10" / "metrics.json").read_text())
        for prior in ("normal", "laplace", "cauchy")
    }
    best = max(recovery.values(), key=lambda m: m["basis_recovery_min"])
    assert best["prior"] != "normal"  # a Gaussian prior cannot identify the rotation
    assert best["basis_recovery_min"] >= 0.95, {
        p: m["basis_recovery_min"] for p, m in recovery.items()
    }


def test_rerun_keeps_finished_runs(default_run, capsys):
    before = (default_run / "synthetic-laplace-z10" / "metrics.json").read_bytes()
    assert train_main(["--prior", "Laplace", "--out", str(default_run)]) == 0
    assert "finished earlier, kept" in capsys.readouterr().out
    assert (default_run / "synthetic-laplace-z10" / "metrics.json").read_bytes() == before


def test_comparison_table_has_a_row_per_variant(default_run):
    from keras_svae.experiment import comparison_table

    results = [
        json.loads((default_run / f"synthetic-{p}-z10" / "metrics.json").read_text())
        for p in ("normal", "laplace", "cauchy")
    ]
    table = comparison_table(results)
    assert table.count("\n") == 4 and "MSE clean / noise var" in table and "IWAE" in table
    assert "synthetic-cauchy-z10 | analytic" in table


def test_two_latent_run_writes_spread_and_grid(tmp_path):
    train_main(
        [
            "--prior",
            "laplace",
            "--latent-dim",
            "2",
            "--epochs",
            "1",
            "--iwae-k",
            "10",
            "--out",
            str(tmp_path),
        ]
    )
    folder = tmp_path / "synthetic-laplace-z2"
    for figure in ("latent_spread.png", "latent_grid.png"):
        assert (folder / figure).read_bytes()[:8] == PNG_MAGIC


def test_bad_cli_choice_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        train_main(["--prior", "gamma"])
    assert "invalid choice: 'gamma'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data,folder",
    [("cifar", "cifar10"), ("bsds", "bsds300/train"), ("toy", None)],
)
def test_each_data_set_trains_from_the_command_line(data, folder, shared_data, tmp_path):
    argv = [
        "--data",
        data,
        "--prior",
        "cauchy",
        "--epochs",
        "1",
        "--iwae-k",
        "20",
        "--n-eval",
        "100",
        "--out",
        str(tmp_path),
    ]
    if folder:
        argv += ["--data-dir", str(shared_data / folder)]
    assert train_main(argv) == 0
    run = next(tmp_path.glob(f"{data}-cauchy-z*"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert math.isfinite(metrics["test_iwae"]) and math.isfinite(metrics["mse"])
    assert (run / "patterns.png").read_bytes()[:8] == PNG_MAGIC
    model = keras.models.load_model(run / "model.keras")
    if data != "toy":  # the fitted preprocessing travels with the model
        whitening = model.metadata["whitening"]  # cifar's patches are not whitened
        assert (whitening and whitening["method"]) == {"cifar": None, "bsds": "zca"}[data]
        assert model.metadata["scale"] > 0 and not model.learn_likelihood_scale


def test_missing_data_dir_is_a_clear_error(tmp_path, capsys):
    assert train_main(["--data", "bsds", "--out", str(tmp_path)]) == 2
    assert "--data bsds needs --data-dir" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mnist_trains_with_xla_and_fused_steps(shared_data, tmp_path):
    # mnist's default: jit_compile=True with 32 steps per execution, which
    # SparseVAE runs as one XLA computation (keras_svae.fused).
    argv = [
        "--data",
        "mnist",
        "--data-dir",
        str(shared_data / "mnist"),
        "--prior",
        "laplace",
        "--epochs",
        "1",
        "--iwae-k",
        "20",
        "--n-eval",
        "100",
        "--out",
        str(tmp_path),
    ]
    assert train_main(argv) == 0
    metrics = json.loads((tmp_path / "mnist-laplace-z10" / "metrics.json").read_text())
    assert metrics["config"]["jit_compile"] is True
    assert metrics["config"]["steps_per_execution"] == 32
    # 784 * log 2 = 543 nats is what pixels of probability 1/2 would cost.
    assert -250 < metrics["test_iwae"] < 0
    assert metrics["knn_accuracy"] > 0.5  # ten classes: chance is 0.1
    model = keras.models.load_model(tmp_path / "mnist-laplace-z10" / "model.keras")
    assert model.jit_compile is True and model.steps_per_execution == 32


def test_bad_steps_per_execution_is_a_clear_error(tmp_path, capsys):
    from keras_svae.experiment import ExperimentConfig

    with pytest.raises(ValueError, match="steps_per_execution must be an integer >= 1"):
        ExperimentConfig(steps_per_execution=0)
    assert train_main(["--steps-per-execution", "0", "--out", str(tmp_path)]) == 2
    assert "steps_per_execution must be an integer >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
        (["--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
        (["--batch-size", "-4"], "batch_size must be an integer >= 1, got -4"),
        (["--kl-warmup-epochs", "-1"], "kl_warmup_epochs must be an integer >= 0"),
    ],
)
def test_bad_numbers_are_clear_errors_not_tracebacks(argv, message, tmp_path, capsys):
    assert train_main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_out_under_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert (
        train_main(
            ["--prior", "laplace", "--epochs", "1", "--out", str(tmp_path / "file" / "runs")]
        )
        == 2
    )
    assert "error:" in capsys.readouterr().err


def test_metrics_count_informative_latents_and_give_the_chance_level():
    """metrics.json: active units, collapsed fraction and Hoyer sparsity from
    one mask (issue 20 item 4), basis recovery beside its chance (item 8)."""
    from keras_svae.experiment import (
        ExperimentConfig,
        build_model,
        evaluate_variant,
        load_experiment_data,
    )

    config = ExperimentConfig(data="synthetic", prior="laplace", n_train=400, n_test=200,
                              iwae_k=2, n_eval=20)  # fmt: skip
    data = load_experiment_data(config)
    model = build_model(config, data)
    kernel, bias = model.encoder.layers[-1].get_weights()
    kernel[:, :8] = 0.0  # latents 0-7: the same location for every input
    model.encoder.layers[-1].set_weights([kernel, bias])
    metrics, latent_codes, _, _ = evaluate_variant(model, data, config)
    # Latents 0-7 pay 0.13-0.33 nats (above the 0.048 floor: the old count saw
    # no collapse) while their codes never move; latents 8 and 9 carry information.
    assert min(metrics["kl_per_latent"][:8]) > 0.1
    informative = evaluation.informative_latents(model, data.x_test)
    np.testing.assert_array_equal(informative, [False] * 8 + [True] * 2)
    assert metrics["informative_latents"] == metrics["active_units"] == 2
    assert metrics["collapsed_fraction"] == pytest.approx(0.8)
    assert metrics["hoyer_sparsity"] == pytest.approx(
        evaluation.hoyer_sparsity(latent_codes[:, 8:])
    )
    assert metrics["basis_recovery_chance"] == pytest.approx(0.36, abs=0.02)
    low, high = metrics["basis_recovery_chance_interval"]
    assert low < metrics["basis_recovery_chance"] < high


def test_help_shows_the_defaults():
    from keras_svae.cli import export_parser, generate_parser, train_parser

    train, export, generate = (p().format_help() for p in (train_parser, export_parser,
                                                           generate_parser))  # fmt: skip
    flat = [" ".join(text.split()) for text in (train, export, generate)]
    assert "(default: runs)" in flat[0] and "(default: 32)" in flat[0]  # --out, --steps-per-...
    assert (
        "--n-samples N_SAMPLES latent draws per example in each training step (default: 1)"
        in (flat[0])
    )
    assert "(default: 1000)" in flat[1]  # --parity-samples
    assert "number of samples (default: 64)" in flat[2] and "(default: grid.png)" in flat[2]
    assert "(default: None)" not in " ".join(flat)  # options without one say what decides it


def test_a_collapsed_run_says_so_in_one_line(tmp_path):
    """A KL weight of 5,000 switches every latent off: run_variant says
    "posterior collapse" with the reason and the settings that fix it; a
    healthy run says nothing of the kind."""
    from keras_svae.experiment import ExperimentConfig, load_experiment_data, run_variant

    said = []
    small = dict(data="synthetic", n_train=2000, epochs=3, iwae_k=10, n_eval=100, seed=0)
    collapsed = run_variant(ExperimentConfig(**small, beta=5000.0, tag="b5000"), tmp_path,
                            say=said.append)  # fmt: skip
    warnings = [line for line in said if "posterior collapse" in line]
    assert len(warnings) == 1, said
    assert "test KL" in warnings[0] and "--kl-warmup-epochs" in warnings[0]
    assert collapsed["test_kl"] < 1.0
    # The table says it too: the explained variance beside no active latent.
    from keras_svae.experiment import comparison_table

    model = keras.models.load_model(tmp_path / collapsed["name"] / "model.keras")
    x = load_experiment_data(ExperimentConfig(**small)).x_test
    error = np.mean((np.asarray(model.reconstruct(x)) - x) ** 2)
    explained = 1.0 - error / np.mean(np.var(x, axis=0))
    header, _, row = comparison_table([collapsed]).splitlines()
    cells = dict(zip(header.split(" | "), row.split(" | "), strict=True))
    assert cells["explained variance"] == f"{explained:.3f}"
    assert (cells["active"], cells["collapsed"]) == ("0", "100%")
    said.clear()
    run_variant(ExperimentConfig(**small), tmp_path, say=said.append)
    assert not [line for line in said if "posterior collapse" in line], said
