"""The comparison table of finished runs (the README's main-job table)."""

# (header, metrics key, format). A column appears when any run has a value.
COLUMNS = [
    ("variant", "name", "{}"),
    ("KL", "kl_path", "{}"),
    ("test log p(x) >= (IWAE)", "test_iwae", "{:.2f}"),
    ("test KL", "test_kl", "{:.2f}"),
    ("MSE clean / noise var", "mse_clean_over_noise", "{:.2f}"),
    ("MSE noisy / noise var", "mse_over_noise", "{:.2f}"),
    ("MSE", "mse", "{:.4f}"),
    ("explained variance", "explained_variance", "{:.3f}"),
    ("basis recovery (min) [chance]", "basis_recovery_text", "{}"),
    ("active", "active_units", "{}"),
    ("collapsed", "collapsed_fraction", "{:.0%}"),
    ("Hoyer", "hoyer_text", "{}"),
    ("kNN acc.", "knn_accuracy", "{:.3f}"),
    ("train s", "train_seconds", "{:.0f}"),
]


def _derived(result):
    """Ratios and combined cells computed from a run's metrics."""
    row = dict(result)
    noise = result.get("noise_variance")
    if noise:
        row["mse_over_noise"] = result["mse"] / noise
        if result.get("mse_clean") is not None:
            row["mse_clean_over_noise"] = result["mse_clean"] / noise
    if result.get("basis_recovery") is not None:
        row["basis_recovery_text"] = (
            f"{result['basis_recovery']:.3f} ({result['basis_recovery_min']:.3f})"
        )
        if result.get("basis_recovery_chance") is not None:
            row["basis_recovery_text"] += f" [{result['basis_recovery_chance']:.2f}]"
    if result.get("hoyer_sparsity") is not None:
        row["hoyer_text"] = f"{result['hoyer_sparsity']:.2f}"
    elif len(result.get("kl_per_latent", [])) > 1 and result.get("informative_latents", 2) < 2:
        row["hoyer_text"] = "collapsed"  # fewer than 2 informative latents: no sparsity
    return row


def comparison_table(results):
    """A Markdown table of the variants' key numbers.

    Args:
        results: the runs' metrics dicts (`run_variant`'s), one row each;
            a column none of them has is left out.

    Returns:
        The table as a string, "-" where a run lacks a number.
    """
    rows = [_derived(r) for r in results]
    columns = [c for c in COLUMNS if any(r.get(c[1]) is not None for r in rows)]
    lines = [
        "| " + " | ".join(c[0] for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = [
            fmt.format(row[key]) if row.get(key) is not None else "-" for _, key, fmt in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
