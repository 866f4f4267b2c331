"""Why the paper's Cauchy results differ: each of the author's quirks alone.

The ``author`` preset is the ``paper`` preset plus the notebooks' quirks
(`experiment.presets.AUTHOR`), and each quirk touches the runs of one prior
only: the fixed Cauchy noise the Cauchy runs, the Normal notebook's KL the
Normal runs, the saved Laplace notebook's Normal KL the Laplace runs (a
variant). So "the paper preset plus one quirk" needs no run of its own: it is
the paper preset's results with that prior's runs replaced by the author
preset's runs with the quirk (`ablations`). Evaluating the claims on each
(`ablation_verdicts`) attributes every verdict: which quirk alone turns it.

`noise_lines` writes the report's section: the ablation table, the numbers
of the Cauchy models with fresh noise (a correct VAE), the notebook's fixed
noise (alpha 1) and its saved alpha 2, their training curves and their
patterns side by side.
"""

import os
from pathlib import Path

from keras_svae import plots
from keras_svae.experiment.presets import AUTHOR
from keras_svae.reproduce.choices import preset_seeds
from keras_svae.reproduce.claims import evaluate_claims

# The roles of a prior's runs that a quirk of that prior replaces or leaves out.
PAIRED = ("main", "kl-pair")
# The ablation table's last column (`attribution`).
ATTRIBUTION = "which quirk alone makes it hold"
# The numbers compared between the Cauchy runs: (header, key, format).
NUMBERS = (
    ("final train KL", "train_kl", "{:.3g}"),
    ("test KL", "test_kl", "{:.3g}"),
    ("MSE", "mse", "{:.4f}"),
    ("expl. var.", "explained_variance", "{:.2f}"),
    ("informative latents", "informative_latents", "{}"),
    ("kNN acc.", "knn_accuracy", "{:.2f}"),
    ("digit classes", "pattern_classes", "{}"),
    ("readable patterns", "readable_patterns", "{}"),
    ("IWAE", "test_iwae", "{:.2f}"),
)


def quirks(preset=AUTHOR):
    """The quirks of ``preset``, one per prior's runs it changes.

    Returns:
        ``[(label, prior, role)]``: the quirk's fields in words, the prior
        whose runs it changes and the role of the preset's runs that have it
        ("main" for the preset's own prior fields, else the variant's tag).
    """
    found = [(prior, "main", fields) for prior, fields in preset.prior_fields.items()]
    found += [(prior, role, fields) for prior, role, fields in preset.variants]
    return [(f"{prior}: {describe(fields)}", prior, role) for prior, role, fields in found]


def describe(fields):
    """A quirk's config fields in words (the field names where not known)."""
    if fields.get("noise") == "fixed":
        alpha = fields.get("noise_alpha")
        return "noise fixed for the run" + ("" if alpha is None else f", alpha {alpha:g}")
    if fields.get("kl_quirk") == "variance_as_scale":
        return "Normal KL of variance exp(l)"
    return ", ".join(f"{k}={v}" for k, v in fields.items())


def ablations(paper, author, preset=AUTHOR):
    """The result sets of the paper preset alone, plus each quirk, and of the author preset.

    Args:
        paper: the paper preset's ``{(experiment, prior, seed, role): metrics}``.
        author: the author preset's, in the same form.
        preset: the preset whose quirks are added one at a time.

    Returns:
        ``[(label, results)]``: "paper", "paper + <quirk>" for each of
        `quirks` (the prior's main runs are the author's runs with that quirk,
        missing where the author preset has none; claim 8's KL-path pair of
        that prior is left out) and "author (every quirk)".
    """
    sets = [("paper", dict(paper))]
    for label, prior, role in quirks(preset):
        # The prior's runs are the quirked ones; claim 8's KL-path pair of the
        # same prior would compare a quirked run with an unquirked one: left out.
        results = {k: v for k, v in paper.items() if k[1] != prior or k[3] not in PAIRED}
        for (experiment, p, seed, r), metrics in author.items():
            if p == prior and r == role:
                results[(experiment, p, seed, "main")] = metrics
        sets.append((f"paper + {label}", results))
    sets.append((f"{preset.name} (every quirk)", dict(author)))
    return sets


def ablation_verdicts(paper, author, seeds, preset=AUTHOR):
    """Each claim's short verdict under each of `ablations`.

    Args:
        paper, author: the two presets' results (see `ablations`).
        seeds: the seeds the claims are tested over.
        preset: the preset whose quirks are added one at a time.

    Returns:
        ``(labels, rows)``: the column labels and one row per claim,
        ``[number, claim, verdict per label..., attribution]`` (`attribution`;
        its label is the last).
    """
    sets = ablations(paper, author, preset)
    claims = [evaluate_claims(results, seeds) for _, results in sets]
    labels = [label for label, _ in sets]
    rows = [
        [c.number, c.claim]
        + [per_set[i].short_verdict for per_set in claims]
        + [attribution(labels, [per_set[i] for per_set in claims])]
        for i, c in enumerate(claims[0])
    ]
    return labels + [ATTRIBUTION], rows


def attribution(labels, verdicts):
    """Which quirk alone, on top of the paper preset, makes a claim hold.

    "Hold" is `Claim.direction`: reproduced, or with one seed every margin in
    the claim's direction (untested).

    Args:
        labels: the labels of `ablations` ("paper", each "paper + <quirk>",
            then the author preset's).
        verdicts: the claim's `Claim` under each, in the same order.

    Returns:
        A phrase: "none needed: holds with the paper preset", "<quirk>" (each
        quirk that makes it hold, joined by "; "), "only every quirk together",
        or "none (with every quirk: <the author preset's verdict>)".
    """
    if verdicts[0].direction == "holds":
        return "none needed: holds with the paper preset"
    turned = [
        label.removeprefix("paper + ")
        for label, claim in zip(labels[1:-1], verdicts[1:-1], strict=True)
        if claim.direction == "holds"
    ]
    if turned:
        return "; ".join(turned)
    if verdicts[-1].direction == "holds":
        return "only every quirk together"
    return f"none (with every quirk: {verdicts[-1].short_verdict})"


def cauchy_runs(runs, results, experiment, seed):
    """The finished Cauchy runs of one experiment to compare, fresh noise
    (paper) first, then the author preset's fixed-noise runs.

    Returns:
        ``{label: (Run, metrics)}``, the metrics from ``results``
        (``{preset: {(experiment, prior, seed, role): metrics}}``).
    """
    chosen = {}
    for run in runs:
        if (run.experiment, run.seed, run.config.prior) != (experiment, seed, "cauchy"):
            continue
        if run.preset == "paper" and run.role == "main":
            label = "fresh noise every step (paper)"
        elif run.preset == AUTHOR.name and run.config.noise == "fixed":
            label = f"noise fixed for the run, alpha {run.config.noise_alpha:g} ({run.role})"
        else:
            continue
        result = results.get(run.preset, {}).get((experiment, "cauchy", seed, run.role))
        if result is not None:
            chosen[label] = (run, result)
    return dict(sorted(chosen.items(), key=lambda item: item[1][0].preset != "paper"))


def noise_lines(runs, results, out, seeds, table):
    """Markdown lines of the section "Why the paper's Cauchy results differ".

    Args:
        runs: the grid's `Run` list (with the paper and author presets).
        results: their finished runs' metrics, ``{preset: {(experiment,
            prior, seed, role): metrics}}`` (``report.collect``).
        out: the report's folder (figures are written to ``<out>/why/``).
        seeds: the grid's seeds, one tuple or ``{preset: seeds}``.
        table: ``table(header, rows)``, the report's Markdown table.

    Returns:
        A list of lines.
    """
    out = Path(out)
    common = sorted(set(preset_seeds(seeds, "paper")) & set(preset_seeds(seeds, AUTHOR.name)))
    lines = ["## Why the paper's Cauchy results differ", ""]
    lines += [
        "The `author` preset is the `paper` preset plus the notebooks' quirks; each quirk "
        "changes the runs of one prior, so the paper preset plus one quirk is the paper "
        "preset's results with that prior's runs replaced by the author preset's "
        f"(`keras_svae.reproduce.ablation`). Each claim's verdict, seeds {common}; the "
        "last column names each quirk that alone makes the claim hold (reproduced, or "
        "with one seed every margin the claim's way, untested):",
        "",
    ]
    shown_seed = common[0] if common else 0  # the seed of the side-by-side comparison
    labels, rows = ablation_verdicts(results.get("paper", {}), results.get("author", {}), common)
    lines += table(["#", "claim", *labels], rows) + [""]
    lines += [
        "Then, per experiment, the Cauchy models with fresh and fixed noise, seed "
        f"{shown_seed}. The final train KL is the last epoch's mean of the "
        "one-draw estimate log q(z given x) - log p(z) on the training draws (an estimate: "
        "it can be below 0); the test KL is `evaluation.kl_per_latent` summed over latents "
        "(the Cauchy-Cauchy closed form, mean over test examples); "
        "IWAE is the k-sample lower bound on log p(x) of the test examples.",
        "",
    ]
    for experiment in dict.fromkeys(r.experiment for r in runs):
        chosen = cauchy_runs(runs, results, experiment, shown_seed)
        if len(chosen) < 2:
            continue
        title = next(iter(chosen.values()))[0].title
        lines += [f"### {title}: the Cauchy model's noise", ""]
        cells = []
        for label, (run, result) in chosen.items():
            numbers = result | {"train_kl": result["history"]["kl"][-1]}
            cells.append(
                [label, run.config.epochs]
                + [
                    fmt.format(numbers[k]) if numbers.get(k) is not None else ""
                    for _, k, fmt in NUMBERS
                ]
            )
        lines += table(["Cauchy model", "epochs", *(h for h, _, _ in NUMBERS)], cells) + [""]
        figure = out / "why" / f"{experiment}-cauchy-curves.png"
        histories = {label: result["history"] for label, (_, result) in chosen.items()}
        plots.plot_curve_comparison(histories, path=figure, title=f"{experiment}: Cauchy model")
        lines += [f"![training curves]({Path(os.path.relpath(figure, out)).as_posix()})", ""]
        patterns = [
            (label, run.path / "patterns.png")
            for label, (run, _) in chosen.items()
            if (run.path / "patterns.png").is_file()
        ]
        if patterns:
            lines += table(
                [label for label, _ in patterns],
                [[f"![patterns]({Path(os.path.relpath(p, out)).as_posix()})" for _, p in patterns]],
            )
            lines += [""]
    return lines
