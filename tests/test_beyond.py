"""Beyond the paper: a tiny comparison through the real code path writes a
complete report and a rerun keeps every finished run; the per-metric summary
follows the numbers; the CIFAR recipe is the one the cifar config uses."""

import json
import re
from pathlib import Path

import pytest
import tomllib

from keras_svae import evaluation
from keras_svae.experiment import MEASURES_VERSION
from keras_svae.reproduce.beyond import DATASETS, FISTA, ICA, LABELS
from keras_svae.reproduce.beyond_report import best_summary

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TINY = dict(epochs=1, max_train=300, max_test=200, iwae_k=10, n_eval=50, kl_warmup_epochs=0)
PAIRINGS = ("student_t", "laplace-learned")  # a sampled KL and exact zeros


def test_summary_names_the_best_only_when_a_paired_t_test_separates_it():
    a, b, c = {0: 1.0, 1: 1.1, 2: 0.9}, {0: 0.5, 1: 0.6, 2: 0.4}, {0: 0.0, 1: 0.1, 2: 0.2}
    assert best_summary({"A": a, "B": b, "C": c}, higher=True).startswith("best: A (")
    assert best_summary({"A": a, "B": b, "C": c}, higher=False).startswith("best: C (")
    # B now beats A on average, but the per-seed margin flips sign: not separated.
    noisy = {0: 2.5, 1: 0.2, 2: 1.5}
    summary = best_summary({"A": a, "B": noisy, "C": c}, higher=True)
    assert summary.startswith("not separated (B vs A: ") and "one-sided p = " in summary
    # The same mean margin with a small spread: separated, with its p-value.
    steady = {0: 1.4, 1: 1.5, 2: 1.3}
    summary = best_summary({"A": a, "B": steady, "C": c}, higher=True)
    assert summary.startswith("best: B (") and "one-sided p = " in summary, summary
    # Margins larger than their spread but not significant at 5% (t = 2.5 on 3 seeds,
    # p = 0.065: the old "margin > spread" rule called this a best).
    weak = {0: 1.033, 1: 1.247, 2: 1.114}
    summary = best_summary({"A": a, "B": weak}, higher=True)
    assert summary.startswith("not separated (B vs A: ") and "p = 0.065" in summary, summary
    # Ties, missing numbers and single rows give no best.
    assert best_summary({"A": a, "B": dict(a)}, higher=True).startswith("not separated")
    assert best_summary({"A": a, "B": {0: None, 1: float("nan")}}, True).startswith("not sep")
    # One seed cannot be tested, nor rows that share no seed.
    assert best_summary({"A": {0: 1.0}, "B": {0: 2.0}}, higher=True).startswith("not separated")
    summary = best_summary({"A": {0: 1.0, 1: 1.1}, "B": {2: 2.0, 3: 2.1}}, higher=True)
    assert summary == "not separated (B vs A: no seed has both)"


def test_cifar_uses_the_cifar_configs_library_recipe():
    with open(REPO / "training" / "configs" / "cifar.toml", "rb") as f:
        library = tomllib.load(f)["library"]
    fields = DATASETS["cifar"][2]
    differ = {k: (v, fields.get(k)) for k, v in library.items()
              if not isinstance(v, dict) and k != "epochs" and fields.get(k) != v}  # fmt: skip
    assert not differ


def test_tiny_comparison_writes_a_complete_report_and_a_rerun_keeps_it(
    shared_data, tmp_path, monkeypatch
):
    from keras_svae.reproduce import beyond, publish_report
    from keras_svae.reproduce.beyond_report import write_report

    runs = beyond.comparison_runs(tmp_path, (0,), True, shared_data, pairings=PAIRINGS,
                                  overrides=TINY)  # fmt: skip
    assert len(runs) == 3 * (len(PAIRINGS) + 1)
    states = beyond.run_comparison(runs, say=lambda s: None, quick=True)
    assert set(states.values()) == {"finished"}, states
    path = write_report(runs, tmp_path, (0,), command="test", quick=True)
    report = path.read_text()
    for title, _, _ in DATASETS.values():
        assert f"## {title}" in report
    for key in (*PAIRINGS, FISTA):
        assert report.count(f"| {LABELS[key]} | 1 |") == 3  # a row per data set, one seed
    assert report.count("n/a — not a density model") == 3
    assert report.count("n/a — KL sampled") == 3  # student-t: collapse is not measured
    assert report.count("**exact zeros** (sparsest; not better on its own") == 3
    assert report.count("**IWAE log p(x) ≥** (higher is better): ") == 3
    assert report.count("**basis recovery**") == 1 and report.count("**Gabor fraction**") == 2
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(figures) == len(runs) and all((tmp_path / f).is_file() for f in figures)
    results = {(r.data, r.pairing): beyond.load_result(r) for r in runs}
    assert results[("synthetic", FISTA)]["zero_rate"] > 0.0  # FISTA codes have exact zeros
    assert results[("bsds", "student_t")]["zero_rate"] == 0.0
    assert results[("bsds", "student_t")]["collapsed_fraction"] is None
    assert 0.0 <= results[("bsds", "laplace-learned")]["collapsed_fraction"] <= 1.0
    assert 0.0 <= results[("synthetic", FISTA)]["basis_recovery"] <= 1.0
    assert all(0.0 <= results[(d, k)]["gabor_fraction"] <= 1.0
               for d in ("bsds", "cifar") for k in (*PAIRINGS, FISTA))  # fmt: skip
    publish_report(path, tmp_path / "docs" / "beyond-report.md")
    published = (tmp_path / "docs" / "beyond-report.md").read_text()
    assert all((tmp_path / "docs" / link).is_file()
               for link in re.findall(r"\]\(([^)]+\.png)\)", published))  # fmt: skip

    # Rerun: nothing trains again and every metrics file keeps its bytes.
    written = {p: p.read_bytes() for p in tmp_path.rglob("*.json")}
    assert len([p for p in written if p.name == "metrics.json"]) == len(runs)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(beyond, "run_variant", refuse)
    monkeypatch.setattr(beyond, "run_fista", refuse)
    said = []
    assert set(beyond.run_comparison(runs, say=said.append, quick=True).values()) == {"finished"}
    assert said == [f"beyond: {len(runs)} of {len(runs)} runs finished earlier (or failed), kept"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.json")} == written
    # A run written before a config field existed is still the same run.
    for run in (runs[0], runs[-1]):  # a VAE and a FISTA run
        path = run.path / "metrics.json"
        metrics = json.loads(path.read_text())
        del metrics["config"]["threshold_prior"], metrics["config"]["prior_scale"]
        path.write_text(json.dumps(metrics))
        assert beyond.run_state(run) == "finished" and beyond.load_result(run) is not None
        metrics["config"]["seed"] += 1  # a different run
        path.write_text(json.dumps(metrics))
        assert beyond.run_state(run) == "todo"
        metrics["config"]["seed"] -= 1
        path.write_text(json.dumps(metrics))

    # Numbers of an older measures version: measured again from the saved
    # model, not retrained; the training record is kept, the numbers agree.
    monkeypatch.undo()
    stale = {}
    for run in (runs[0], runs[-1]):  # a VAE and a FISTA run
        for name in ("metrics.json", beyond.EXTRA_FILE):
            path = run.path / name
            if path.is_file():
                numbers = json.loads(path.read_text())
                stale[path] = numbers
                path.write_text(json.dumps({**numbers, "measures_version": 1, "mse": 123.0}))
        assert beyond.run_state(run) == "todo"
    models = {run.path: (run.path / "model.keras").read_bytes() for run in (runs[0], runs[-1])}
    said = []
    assert set(beyond.run_comparison(runs, say=said.append, quick=True).values()) == {"finished"}
    assert any("measuring its saved model again" in line for line in said), said
    for path, before in stale.items():
        after = json.loads(path.read_text())
        assert after["measures_version"] == MEASURES_VERSION
        for key in ("mse", "train_seconds", "active_units"):
            if key in before:
                assert after[key] == pytest.approx(before[key], rel=1e-5), key
    for folder, model in models.items():
        assert (folder / "model.keras").read_bytes() == model  # not retrained


def test_command_line_refuses_bad_choices(capsys):
    from training.beyond import main

    assert main(["--data", "mnist"]) == 2
    assert "error: bad --data 'mnist'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--seeds", "x"])


def test_ica_runner_writes_its_folder_and_a_rerun_keeps_it(tmp_path):
    from keras_svae.reproduce import beyond

    runs = beyond.comparison_runs(tmp_path, (0,), True, datasets=("synthetic",), pairings=(),
                                  overrides=TINY, ica=True)  # fmt: skip
    assert [r.pairing for r in runs] == [FISTA, ICA]
    run = runs[-1]
    assert run.name == "synthetic-ica" and beyond.run_state(run) == "todo"
    said = []
    assert beyond.run_comparison([run], say=said.append, quick=True) == {run.label: "finished"}
    assert sorted(p.name for p in run.path.iterdir()) == ["metrics.json", "model.keras",
                                                          "patterns.png"]  # fmt: skip
    result = beyond.load_result(run)
    assert result["ica"] == beyond.ICA_SETTINGS
    # 20 of the 25 directions are Gaussian noise, which ICA cannot separate: it may
    # not converge, and metrics.json says which.
    assert result["converged"] == (result["n_iter"] < beyond.ICA_SETTINGS["max_iter"])
    assert result["active_units"] == 25  # complete ICA of 25 pixels: 25 unit-variance sources
    assert result["explained_variance"] > 0.999
    # Its chance level is that of as many random patterns as it has atoms (25, not 10).
    bases = beyond.cached_data(run.config).true_bases
    chance = evaluation.basis_recovery_chance(bases, 25, seed=0)
    assert result["basis_recovery_chance"] == chance["mean"]
    assert result["basis_recovery"] > chance["high"] + 0.2
    written = (run.path / "metrics.json").read_bytes()
    said = []
    assert beyond.run_comparison([run], say=said.append, quick=True) == {run.label: "finished"}
    assert said == ["beyond: 1 of 1 runs finished earlier (or failed), kept"]
    assert (run.path / "metrics.json").read_bytes() == written
    # Other settings are another run; older numbers are measured again, not refitted.
    other = beyond.Run(run.data, ICA, 0, run.config, run.folder, ica={**run.ica, "max_iter": 7})
    assert beyond.run_state(other) == "todo"
    stale = json.loads(written)
    (run.path / "metrics.json").write_text(json.dumps({**stale, "measures_version": 1, "mse": 9.0}))
    assert beyond.run_state(run) == "todo"
    beyond.run_ica(run, quick=True)
    again = beyond.load_result(run)
    assert again["train_seconds"] == stale["train_seconds"] and again["mse"] == stale["mse"]
