"""The paper's claims as numbers, each with a verdict computed from per-seed values.

Every claim is one or more *tests*. A test compares, seed by seed, two
numbers (or a number with a threshold) and gives per-seed differences that
are positive when the claim holds; its verdict is a one-sided paired t-test
of those differences at the 5% level (`verdict.paired_verdict`, whose
docstring states the rule): "reproduced", "not reproduced", "mixed" or
"untestable" (no numbers; "untestable: one seed" for one).

Before testing, a claim checks that the models it compares learned something
(`evaluation.model_collapsed`): a collapsed model's reconstructions are the
mean image, so its sharpness, patterns or latent use describe nothing of its
prior. A claim that compares a collapsed model is "untestable: collapsed
(<run>: <reason>)". Which models must have learned is written in each
claim's metric. Claim 1 checks none: whether the models learn is its question.

A claim of several tests is reproduced when all are, not reproduced when all
are not, untestable when any is, and mixed otherwise. The thresholds are this
project's reading of the paper's words, written beside each claim.
"""

import dataclasses
import math

import numpy as np

from keras_svae.evaluation.collapse import model_collapsed
from keras_svae.names import PAPER_PRIORS
from keras_svae.reproduce.verdict import finite, paired_verdict

# A verdict is one of these, "untestable" followed by ": <why>" where that is known.
VERDICTS = ("reproduced", "not reproduced", "mixed", "untestable")
# Thresholds: the paper's words made numbers.
LEARNED = 0.9  # claim 1: "learned the task" = explained variance of test data >= 0.9
DECENT = 0.5  # claim 6: "decent reconstruction" of 12x12 patches = explained variance >= 0.5
ONE_LATENT = 0.9  # claim 5: "only one of two latents used" = one latent carries >= 90% of KL
MOST_CLASSES = 7  # claim 3: "most digit classes" = at least 7 of 10 classes shown
NEEDS = "; untestable unless the {} models learned something (`model_collapsed`)"


@dataclasses.dataclass
class Comparison:
    """One comparison: per-seed differences (positive: the claim holds).

    Attributes:
        what: what is compared, in the report's words.
        differences: one difference per seed (NaN where a number is missing).
    """

    what: str
    differences: list

    @property
    def verdict(self):
        """`verdict.paired_verdict` of the differences (one of `VERDICTS`, or
        "untestable: one seed")."""
        return paired_verdict(self.differences)[0]

    @property
    def p_value(self):
        """The one-sided p-value in the claim's direction (None: untestable or a tie)."""
        return paired_verdict(self.differences)[1]

    def text(self):
        """``"what: +mean ± sd (n seeds, one-sided p = p)"``."""
        d = finite(self.differences)
        if not d:
            return f"{self.what}: no numbers"
        spread = f" ± {np.std(d, ddof=1):.3g}" if len(d) > 1 else ""
        verdict, p = paired_verdict(d)
        test = "untested" if len(d) < 2 else "a tie" if p is None else f"one-sided p = {p:.2g}"
        if p in (0.0, 1.0):  # equal differences: no spread, an infinite t
            test += ", no spread"
        return f"{self.what}: {np.mean(d):+.3g}{spread} ({len(d)} seed{'s' * (len(d) > 1)}, {test})"


@dataclasses.dataclass
class Claim:
    """One of the paper's claims, its tests and its verdict.

    Attributes:
        number: the claim's number in the report.
        claim: the paper's claim, in words.
        metric: how it is measured (the thresholds, which models must have learned).
        numbers: the per-prior numbers behind it, as the report prints them.
        tests: its `Comparison` tests; all must hold.
        collapsed: ``"<run>: <reason>"`` of each compared model that collapsed.
    """

    number: int
    claim: str
    metric: str
    numbers: str
    tests: list
    collapsed: list = dataclasses.field(default_factory=list)  # "<run>: <reason>" of each

    @property
    def verdict(self):
        """One of `VERDICTS`; an untestable verdict says why after a colon."""
        if self.collapsed:
            return f"untestable: collapsed ({'; '.join(self.collapsed)})"
        verdicts = [t.verdict for t in self.tests]
        untestable = [v for v in verdicts if v.startswith("untestable")]
        if untestable:
            return untestable[0]
        if all(v == "reproduced" for v in verdicts):
            return "reproduced"
        if all(v == "not reproduced" for v in verdicts):
            return "not reproduced"
        return "mixed"

    @property
    def short_verdict(self):
        """The verdict without the list of collapsed runs (for the summary
        table; the claim's own table lists them)."""
        if self.collapsed:
            runs = {entry.split(" seed ")[0] for entry in self.collapsed}
            n = len(self.collapsed)
            return f"untestable: collapsed ({', '.join(sorted(runs))}; {n} run{'s' * (n > 1)})"
        if self.verdict == "untestable: one seed":
            return f"untestable: one seed, where it {self.one_seed_reading}"
        return self.verdict

    @property
    def direction(self):
        """Which way the claim points: "holds" (reproduced, or one seed's
        margins all positive, untested), "fails" (not reproduced, or all
        negative) or None (mixed, split, collapsed or without numbers)."""
        verdict = self.verdict
        if verdict in ("reproduced", "not reproduced"):
            return "holds" if verdict == "reproduced" else "fails"
        reading = self.one_seed_reading if verdict == "untestable: one seed" else None
        return next((w for w in ("holds", "fails") if reading and reading.startswith(w)), None)

    @property
    def one_seed_reading(self):
        """What one seed's margins say, untested: "holds" (every margin
        positive), "fails" (every margin negative) or "is split"; with the
        margins. None unless every test has exactly one number."""
        margins = [finite(t.differences) for t in self.tests]
        if not margins or any(len(m) != 1 for m in margins):
            return None
        values = [m[0] for m in margins]
        word = "holds" if min(values) > 0 else "fails" if max(values) < 0 else "is split"
        return f"{word} (margin {', '.join(f'{v:+.3g}' for v in values)})"


def _values(results, experiment, prior, key, seeds, role="main"):
    """Per-seed values of ``key`` (None where missing)."""
    out = []
    for seed in seeds:
        r = results.get((experiment, prior, seed, role))
        value = None if r is None else r.get(key)
        out.append(None if value is None else float(value))
    return out


def _collapsed(results, experiment, priors, seeds, role="main"):
    """``"<run>: <reason>"`` for each finished run among ``priors`` x ``seeds``
    that `model_collapsed` finds collapsed."""
    found = []
    for prior in priors:
        for seed in seeds:
            r = results.get((experiment, prior, seed, role))
            reason = None if r is None else model_collapsed(r)
            if reason is not None:
                kind = "" if role == "main" else f" ({role})"
                found.append(f"{experiment} {prior}{kind} seed {seed}: {reason}")
    return found


def _op(f, *columns):
    return [None if any(v is None for v in row) else f(*row) for row in zip(*columns)]


def _summary(results, experiment, key, seeds, priors, fmt="{:.3g}", role="main"):
    parts = []
    for prior in priors:
        v = [x for x in _values(results, experiment, prior, key, seeds, role) if x is not None]
        if not v:
            parts.append(f"{prior} n/a")
            continue
        sd = f" ± {fmt.format(np.std(v, ddof=1))}" if len(v) > 1 else ""
        parts.append(f"{prior} {fmt.format(np.mean(v))}{sd}")
    return f"{key}: " + ", ".join(parts)


def evaluate_claims(results, seeds, priors=PAPER_PRIORS):
    """The eight claims for one preset.

    Args:
        results: ``{(experiment, prior, seed, role): metrics}``, role "main" or
            "kl-pair" (claim 8's run with the other KL path); metrics as in the
            run's metrics.json plus its reproduce.json.
        seeds: the seeds of the grid.
        priors: the names of the normal, laplace and cauchy priors, in that order.

    Returns:
        A list of `Claim`.
    """
    normal, laplace, cauchy = priors

    def v(experiment, prior, key):
        return _values(results, experiment, prior, key, seeds)

    def s(experiment, key, fmt="{:.3g}"):
        return _summary(results, experiment, key, seeds, priors, fmt)

    def collapsed(experiment, *compared):
        return _collapsed(results, experiment, compared, seeds)

    claims = []

    ev = [v("synthetic", p, "explained_variance") for p in priors]
    claims.append(
        Claim(
            1,
            "Synthetic 5x5: all three priors learn the patches (which recovers the bases best?)",
            f"explained variance of test patches >= {LEARNED} for every prior; basis recovery "
            "(Hungarian-matched absolute cosine) reported; no collapse check: whether the "
            "models learn is the question",
            s("synthetic", "explained_variance")
            + "; "
            + s("synthetic", "basis_recovery")
            + "; random patterns' "
            + s("synthetic", "basis_recovery_chance", "{:.2f}"),
            [
                Comparison(
                    f"min over priors of explained variance - {LEARNED}",
                    _op(lambda a, b, c: min(a, b, c) - LEARNED, *ev),
                )
            ],
        )
    )

    sh = [v("mnist-z10", p, "sharpness") for p in priors]
    claims.append(
        Claim(
            2,
            "MNIST z=10: Cauchy reconstructions are less sharp than Normal and Laplace",
            "sharpness = edge energy of reconstructions / of inputs (lower: blurrier)"
            + NEEDS.format("three"),
            s("mnist-z10", "sharpness") + "; " + s("mnist-z10", "mse"),
            [
                Comparison(
                    "min(normal, laplace) - cauchy sharpness",
                    _op(lambda a, b, c: min(a, b) - c, *sh),
                )
            ],
            collapsed("mnist-z10", *priors),
        )
    )

    cl = [v("mnist-z10", p, "pattern_classes") for p in priors]
    claims.append(
        Claim(
            3,
            "MNIST z=10: Cauchy patterns are the most readable, close to one per digit class",
            "distinct digit classes among the patterns decode(5 e_i) that a logistic-regression "
            "digit classifier reads with probability >= 0.5" + NEEDS.format("three"),
            s("mnist-z10", "pattern_classes", "{:.1f}")
            + "; "
            + s("mnist-z10", "readable_patterns", "{:.1f}"),
            [
                Comparison(
                    "cauchy - max(normal, laplace) classes", _op(lambda a, b, c: c - max(a, b), *cl)
                ),
                Comparison(
                    f"cauchy classes - {MOST_CLASSES - 0.5}",
                    _op(lambda c: c - (MOST_CLASSES - 0.5), cl[2]),
                ),
            ],
            collapsed("mnist-z10", *priors),
        )
    )

    knn = [v("mnist-z2", p, "knn_accuracy") for p in (normal, laplace)]
    claims.append(
        Claim(
            4,
            "MNIST z=2: the Laplace latent spread separates digits better than the Normal one",
            "5-nearest-neighbour accuracy of the 2-D posterior means (5-fold CV)"
            + NEEDS.format("normal and laplace"),
            s("mnist-z2", "knn_accuracy") + "; " + s("mnist-z2", "linear_probe_accuracy"),
            [Comparison("laplace - normal kNN accuracy", _op(lambda a, b: b - a, *knn))],
            collapsed("mnist-z2", normal, laplace),
        )
    )

    share = v("mnist-z2", cauchy, "kl_top_share")
    used = v("mnist-z2", cauchy, "informative_latents")
    # A collapsed model (no informative latent: share None) uses no latent at all.
    share = [0.0 if c is None and u == 0 else c for c, u in zip(share, used, strict=True)]
    claims.append(
        Claim(
            5,
            "MNIST z=2: the Cauchy model uses essentially only one of its two latents",
            f"share of the test KL carried by the top latent >= {ONE_LATENT}"
            + NEEDS.format("cauchy")
            + " (a collapsed model uses no latent)",
            s("mnist-z2", "kl_top_share") + "; " + s("mnist-z2", "informative_latents", "{:.1f}"),
            [
                Comparison(
                    f"cauchy top-latent KL share - {ONE_LATENT}",
                    _op(lambda c: c - ONE_LATENT, share),
                )
            ],
            collapsed("mnist-z2", cauchy),
        )
    )

    cev = [v("cifar", p, "explained_variance") for p in priors]
    csh = [v("cifar", p, "sharpness") for p in priors]
    claims.append(
        Claim(
            6,
            "CIFAR 12x12: Normal and Laplace reconstruct decently, Cauchy is blurrier",
            f"explained variance >= {DECENT} (normal, laplace); sharpness ratio (cauchy lowest)"
            + NEEDS.format("three"),
            s("cifar", "explained_variance") + "; " + s("cifar", "sharpness"),
            [
                Comparison(
                    f"min(normal, laplace) explained variance - {DECENT}",
                    _op(lambda a, b: min(a, b) - DECENT, cev[0], cev[1]),
                ),
                Comparison(
                    "min(normal, laplace) - cauchy sharpness",
                    _op(lambda a, b, c: min(a, b) - c, *csh),
                ),
            ],
            collapsed("cifar", *priors),
        )
    )

    gf = [v("cifar", p, "gabor_fraction") for p in priors]
    claims.append(
        Claim(
            7,
            "CIFAR 12x12: Cauchy patterns are sparse and Gabor-like, Normal and Laplace are not",
            "fraction of active latents whose pattern a 2-D Gabor fits with R^2 >= 0.7, "
            "against each other and against smooth random patterns (chance)"
            + NEEDS.format("three"),
            s("cifar", "gabor_fraction")
            + "; "
            + s("cifar", "gabor_median_r2")
            + "; smooth random patterns' "
            + s("cifar", "gabor_chance", "{:.2f}"),
            [
                Comparison(
                    "cauchy - max(normal, laplace) Gabor fraction",
                    _op(lambda a, b, c: c - max(a, b), *gf),
                ),
                # "Normal and Laplace are not": no more Gabor-like than chance.
                Comparison(
                    "chance - max(normal, laplace) Gabor fraction",
                    _op(
                        lambda a, b, chance: chance - max(a, b),
                        *gf[:2],
                        v("cifar", priors[2], "gabor_chance"),
                    ),
                ),
            ],
            collapsed("cifar", *priors),
        )
    )

    claims.append(_claim_8(results, seeds, laplace))
    return claims


def _claim_8(results, seeds, laplace):
    """Closed-form against sampled Normal-Laplace KL on the synthetic Laplace pair."""
    runs = {}
    for seed in seeds:
        for role in ("main", "kl-pair"):
            r = results.get(("synthetic", laplace, seed, role))
            if r is not None:
                runs[(seed, r.get("kl_path"))] = r

    def get(seed, path, key):
        r = runs.get((seed, path))
        return None if r is None or r.get(key) is None else float(r[key])

    ratio = [
        _op(
            lambda s, a: math.log10(s / a) if s > 0 and a > 0 else None,
            [get(seed, "analytic", "grad_variance_sampled")],
            [get(seed, "analytic", "grad_variance_analytic")],
        )[0]
        for seed in seeds
    ]
    iwae = [
        _op(
            lambda a, b: a - b,
            [get(seed, "analytic", "test_iwae")],
            [get(seed, "sampled", "test_iwae")],
        )[0]
        for seed in seeds
    ]
    shown = [f"{x:.2f}" for x in ratio if x is not None]
    diffs = [f"{x:+.3f}" for x in iwae if x is not None]
    return Claim(
        8,
        "(beyond the paper) the closed-form Normal-Laplace KL beats the sampled one",
        "log10 of the ratio of the loss gradient's total variance, sampled / closed form, at "
        "the closed-form run's "
        "weights; test IWAE of the closed-form run minus the sampled run (equal steps)"
        + NEEDS.format("closed-form and sampled"),
        f"log10 variance ratio per seed: {', '.join(shown) or 'n/a'}; "
        f"IWAE difference per seed: {', '.join(diffs) or 'n/a'}",
        [Comparison("log10 gradient variance ratio", ratio), Comparison("IWAE difference", iwae)],
        _collapsed(results, "synthetic", (laplace,), seeds)
        + _collapsed(results, "synthetic", (laplace,), seeds, role="kl-pair"),
    )
