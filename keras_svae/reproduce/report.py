"""``report.md``: the grid's numbers, figures and claim verdicts in one page.

Per preset: the settings each experiment ran with, a metrics table per data
set (mean ± sd over seeds), the paper's figures side by side for the three
priors (first seed) and the claims table with verdicts computed by
`claims.evaluate_claims`. Figures are linked by paths relative to the report,
so the output folder can be moved or committed as a whole.
"""

import datetime
import os
import platform
import re
from pathlib import Path

import numpy as np

from keras_svae import files
from keras_svae.evaluation.collapse import MIN_EXPLAINED_VARIANCE, MIN_TEST_KL, model_collapsed
from keras_svae.names import PAPER_PRIORS
from keras_svae.reproduce.ablation import noise_lines
from keras_svae.reproduce.choices import preset_seeds
from keras_svae.reproduce.claims import evaluate_claims
from keras_svae.reproduce.grid import load_result, run_state
from keras_svae.reproduce.verdict import RULE

FIGURES = (
    ("reconstructions", "reconstructions.png"),
    ("patterns", "patterns.png"),
    ("latent spread", "latent_spread.png"),
    ("latent grid", "latent_grid.png"),
)
SIZING = (
    "Epochs were chosen so that the full grid (both presets, 3 seeds, 96 runs) fits about 3 "
    "hours on 2 CPU cores, from per-epoch times measured on this project's shared 2-core "
    "machine (MNIST MLP 500-500: about 15 s per epoch of 55,000 digits; synthetic and CIFAR "
    "MLP 500-500: about 2 s per epoch of 10,000 examples). The paper trained 100 epochs (75 "
    "for MNIST with 2 latents): the paper preset's MNIST runs are much shorter than its own."
)
PAPER_LENGTH = (
    "Paper length: the paper and author presets trained for the paper's epochs (each "
    "experiment file's paper_epochs: 100, 75 for MNIST with 2 latents); the library preset "
    "for its own."
)
# (header, key, format): a column appears when some run of the data set has it.
COLUMNS = (
    ("IWAE", "test_iwae", "{:.2f}"),
    ("MSE", "mse", "{:.4g}"),
    ("expl. var.", "explained_variance", "{:.3f}"),
    ("test KL", "test_kl", "{:.2f}"),
    ("active", "active_units", "{:.1f}"),
    ("Hoyer", "hoyer_sparsity", "{:.2f}"),
    ("top-latent KL share", "kl_top_share", "{:.2f}"),
    ("basis recovery", "basis_recovery", "{:.3f}"),
    ("random patterns' basis recovery", "basis_recovery_chance", "{:.2f}"),
    ("kNN acc.", "knn_accuracy", "{:.3f}"),
    ("sharpness", "sharpness", "{:.2f}"),
    ("digit classes", "pattern_classes", "{:.1f}"),
    ("Gabor fraction", "gabor_fraction", "{:.2f}"),
    ("random patterns' Gabor fraction", "gabor_chance", "{:.2f}"),
    ("train s", "train_seconds", "{:.0f}"),
)
# Numbers a run with too few informative latents does not have (None in its
# metrics), and the fewest informative latents each needs.
NEEDS_INFORMATIVE = {"hoyer_sparsity": 2, "kl_top_share": 1}
SETTINGS = (
    "recipe",
    "epochs",
    "batch_size",
    "learning_rate",
    "final_learning_rate",
    "decoder",
    "encoder_units",
    "decoder_units",
    "activation",
    "decoder_activation",
    "scale_activation",
    "likelihood_scale",
    "learn_likelihood_scale",
    "kl_warmup_epochs",
    "max_train",
    "iwae_k",
    "n_eval",
)


def collect(runs):
    """``{preset: {(experiment, prior, seed, role): metrics}}`` of the finished runs."""
    results = {}
    for run in runs:
        result = load_result(run)
        if result is not None:
            results.setdefault(run.preset, {})[
                (run.experiment, run.config.prior, run.seed, run.role)
            ] = result
    return results


def mean_sd(values, fmt):
    """``"mean ± sd"`` of the finite numbers among ``values`` (None and NaN are
    left out), each formatted with ``fmt``; the mean alone for one value, ""
    for none. The sd is the sample standard deviation (ddof=1)."""
    values = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    if not values:
        return ""
    text = fmt.format(np.mean(values))
    return text + (f" ± {fmt.format(np.std(values, ddof=1))}" if len(values) > 1 else "")


def metric_cell(results, key, fmt):
    """``mean_sd`` of ``key`` over the seeds' ``results``; runs that have no
    value because too few latents carry information (``NEEDS_INFORMATIVE``)
    are counted as collapsed instead of being left out silently."""
    text = mean_sd([r.get(key) for r in results], fmt)
    need = NEEDS_INFORMATIVE.get(key)
    collapsed = sum(
        1
        for r in results
        if need and r.get(key) is None and r.get("informative_latents", need) < need
    )
    if not collapsed:
        return text
    return f"{text} ({collapsed} collapsed)" if text else "collapsed"


def markdown_table(header, rows):
    """A Markdown table as a list of lines: ``header`` cells, then one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def metrics_table(results, experiment, seeds):
    """Markdown lines: one row per prior (and claim 8's pair), mean ± sd over seeds."""
    keys = sorted(
        {(p, role) for (e, p, _, role) in results if e == experiment},
        # By role last too: a set's order changes with the hash seed, run to run.
        key=lambda k: (k[1] != "main", PAPER_PRIORS.index(k[0]), k[1]),
    )
    per_row = {k: [results.get((experiment, k[0], s, k[1])) for s in seeds] for k in keys}
    columns = [c for c in COLUMNS if any(r and c[1] in r for rs in per_row.values() for r in rs)]
    rows = []
    for (prior, role), rs in per_row.items():
        done = [r for r in rs if r is not None]
        label = prior if role == "main" else f"{prior} ({role})"
        if role == "kl-pair":
            label = f"{prior} ({done[0]['kl_path']} KL)"
        kl = done[0].get("kl_path", "")
        config = done[0].get("config") or {}
        if config.get("kl_quirk"):  # the test KL is the true KL; the loss was the notebook's
            kl += f" (trained on the notebook's {config['kl_quirk']} KL)"
        if config.get("noise") == "fixed":
            alpha = config.get("noise_alpha")
            label += ", fixed noise" + ("" if alpha is None else f" alpha {alpha:g}")
        rows.append(
            [label, kl, len(done)] + [metric_cell(done, key, fmt) for _, key, fmt in columns]
        )
    return markdown_table(["prior", "KL", "seeds", *(c[0] for c in columns)], rows)


def figure_table(runs, preset, experiment, seed, out):
    """Markdown lines: the figures of the three priors side by side."""
    folders = {
        r.config.prior: r.path
        for r in runs
        if r.preset == preset
        and r.experiment == experiment
        and r.seed == seed
        and r.role == "main"
        and run_state(r) == "finished"
    }
    rows = []
    for title, name in FIGURES:
        cells = []
        for prior in PAPER_PRIORS:
            path = folders.get(prior, Path("-")) / name
            rel = os.path.relpath(path, out) if path.is_file() else None
            cells.append(f"![{prior} {title}]({Path(rel).as_posix()})" if rel else "")
        if any(cells):
            rows.append([title, *cells])
    return markdown_table(["", *PAPER_PRIORS], rows) if rows else ["(no finished runs)"]


def claims_table(claims):
    rows = [
        [
            c.number,
            c.claim,
            c.metric,
            c.numbers,
            "; ".join(t.text() for t in c.tests),
            f"**{c.verdict}**",
        ]
        for c in claims
    ]
    return markdown_table(
        [
            "#",
            "claim",
            "metric",
            "numbers (mean ± sd over seeds)",
            "tests (one-sided p)",
            "verdict",
        ],
        rows,  # fmt: skip
    )


def settings_table(runs, preset):
    seen, rows = set(), []
    for run in runs:
        if run.preset != preset or run.role != "main" or run.experiment in seen:
            continue
        seen.add(run.experiment)
        c = run.config
        rows.append([run.experiment] + [_setting(getattr(c, k)) for k in SETTINGS])
    return markdown_table(["experiment", *SETTINGS], rows)


def _setting(value):
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value) or "none"
    return "" if value is None else str(value)


def sitting_text(wall_seconds):
    """The report's words on the sitting that wrote it: its wall time, or that
    every run was finished in earlier sittings (a sitting of under a minute
    trained nothing; "0.0 min" would read as a measurement)."""
    if wall_seconds is None:
        return ""
    if wall_seconds < 60:
        return "; written from runs finished in earlier sittings"
    return (
        f"; wall time of the sitting that wrote this report (runs finished earlier kept, not "
        f"timed): {wall_seconds / 60:.1f} min"
    )


def problems(runs):
    """Failed runs, and runs that fail the claims' check
    (`evaluation.model_collapsed`) or have no informative latent: "collapsed"
    when no latent is in use, "learned little" when some are but the
    reconstructions explain under a tenth of the variance."""
    lines = []
    for run in runs:
        state = run_state(run)
        if state == "failed":
            lines.append(
                f"- {run.label}: failed (NaN or Inf loss); see {run.config.name}.failed.json"
            )
        elif state == "finished":
            result = load_result(run)
            reason = model_collapsed(result)
            if reason is None and result.get("active_units", 1) == 0:
                reason = "no informative latent"
            if reason is not None:
                # No informative latent: the latents are unused (collapse); with some in
                # use the model fails the check by its reconstructions: it learned little.
                what = "collapsed" if not result.get("active_units") else "learned little"
                lines.append(
                    f"- {run.label}: {what} ({reason}; {result.get('active_units')} "
                    f"informative latents, test KL {result['test_kl']:.2f} nats)"
                )
        else:
            lines.append(f"- {run.label}: not run yet")
    return lines or ["- none"]


def write_report(
    runs, out, seeds, presets, command="", wall_seconds=None, quick=False, paper_length=False
):
    """Write ``<out>/report.md`` (atomically): the claims, tables and figures.

    Args:
        runs: the grid's `Run` list; finished ones are reported.
        out: the grid's output folder.
        seeds: the seeds of the grid (the claims' paired tests use them), or
            ``{preset: seeds}``.
        presets: the presets to report, one verdict column each.
        command: the command line that made the grid, quoted in the report.
        wall_seconds: the grid's wall-clock time, or None.
        quick: the grid was the quick one (said in the report's header).
        paper_length: the grid trained for the paper's epochs (`grid_runs`).

    Returns:
        ``(path of report.md, {preset: list of Claim})``.
    """
    out = Path(out)
    results = collect(runs)
    claims = {p: evaluate_claims(results.get(p, {}), preset_seeds(seeds, p)) for p in presets}
    total = sum(r.get("train_seconds", 0) for rs in results.values() for r in rs.values())
    lines = ["# A Sparse VAE, reproduced", ""]
    lines += [
        f"- command: `{command}`" if command else "- command: (library call)",
        f"- grid: {_length_text(quick, paper_length)}"
        f", {_seeds_text(seeds, presets)}, {len(runs)} runs",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}",
        f"- training time of the finished runs: {total / 60:.1f} min" + sitting_text(wall_seconds),
        f"- written {datetime.datetime.now().isoformat(timespec='seconds')}",
        "",
    ]
    if any(len(preset_seeds(seeds, p)) < 2 for p in presets):
        lines += [
            "With one seed there is no spread over seeds to test a margin against: a "
            "one-seed preset's verdicts are untestable; the table says whether its one seed's "
            "margins point the claim's way (holds) or against it (fails), untested.",
            "",
        ]
    lines += ["## Verdicts", ""]
    rows = [
        [c.number, c.claim] + [f"**{claims[p][i].short_verdict}**" for p in presets]
        for i, c in enumerate(claims[presets[0]])
    ]
    lines += markdown_table(["#", "claim", *presets], rows) + [""]
    lines += [
        RULE + " Untestable: runs missing or failed, one seed, or a compared model "
        f"collapsed (explained variance of the test data < {MIN_EXPLAINED_VARIANCE:g} or test "
        f"KL < {MIN_TEST_KL:g} nat, `evaluation.model_collapsed`; each claim says which of "
        "its models must have learned).",
        "",
        "## Runs that failed, collapsed or learned little",
        "",
        *problems(runs),
        "",
    ]
    if {"paper", "author"} <= set(presets):
        lines += noise_lines(runs, results, out, seeds, markdown_table)
    experiments = list(dict.fromkeys(r.experiment for r in runs))
    titles = {r.experiment: r.title for r in runs}
    for preset in presets:
        sizing = PAPER_LENGTH if paper_length else SIZING
        lines += [f"## Preset `{preset}`", "", "### Settings", "", sizing, ""]
        lines += settings_table(runs, preset) + ["", "### Claims", ""]
        lines += claims_table(claims[preset]) + [""]
        for experiment in experiments:
            lines += [f"### {titles[experiment]} ({preset})", ""]
            own = preset_seeds(seeds, preset)
            lines += metrics_table(results.get(preset, {}), experiment, own) + [""]
            lines += [f"Figures (seed {own[0]}):", ""]
            lines += figure_table(runs, preset, experiment, own[0], out) + [""]
    path = out / "report.md"
    files.write_text(path, "\n".join(lines) + "\n")
    return path, claims


def _seeds_text(seeds, presets):
    """ "presets a, b, seeds 0, 1" or, per preset, "presets a (seed 0), b (seeds 0, 1)"."""
    if not isinstance(seeds, dict):
        return f"presets {', '.join(presets)}, seeds {', '.join(map(str, seeds))}"
    parts = []
    for p in presets:
        own = preset_seeds(seeds, p)
        parts.append(f"{p} (seed{'s' * (len(own) > 1)} {', '.join(map(str, own))})")
    return "presets " + ", ".join(parts)


def _length_text(quick, paper_length):
    if quick:
        return "QUICK (reduced; numbers are not the paper-scale result)"
    return "paper length (the paper's epochs)" if paper_length else "full"


def publish_report(report, target):
    """Copy ``report`` (a report.md) to ``target`` (e.g. docs/paper-report.md)
    with the figures it links, so the copy can be committed without the runs:
    each figure goes to ``<target without .md>/<its path in the report>`` and
    the links are rewritten to match.

    Args:
        report: a report.md written by `write_report`.
        target: the copy's path (e.g. docs/paper-report.md).

    Returns:
        The figures' total size in bytes.
    """
    report, target = Path(report), Path(target)
    text = report.read_text()
    folder = target.with_suffix("")
    size = 0
    for link in sorted(set(re.findall(r"\]\(([^)]+\.png)\)", text))):
        source = report.parent / link
        if not source.is_file():
            raise FileNotFoundError(f"{report} links {link}, which does not exist.")
        data = source.read_bytes()
        files.write_bytes(folder / link, data)
        size += len(data)
        text = text.replace(f"]({link})", f"]({folder.name}/{link})")
    files.write_text(target, text)
    return size
