"""The verdict of one paired comparison over seeds: a stated test at a stated level.

Each seed gives one difference that is positive when the claim holds. The
verdict is a one-sided paired t-test of the mean difference against 0 (the
seeds are the samples; Student's t with n - 1 degrees of freedom):

- "reproduced": p < `LEVEL` for "the mean difference is > 0";
- "not reproduced": p < `LEVEL` for "the mean difference is < 0" (the
  claim's one-sided p-value is above 1 - `LEVEL`);
- "mixed": neither (the seeds do not separate the two at this level);
- "untestable: one seed": one difference has no spread to test against;
- "untestable": no seed has the numbers.

The old rule, "the mean is larger than the standard deviation of the
differences", is t > sqrt(n): with no effect at all it said "reproduced" for
50% / 20% / 11% of the 1 / 2 / 3-seed comparisons; this test says it for 5%.
"""

import math

import numpy as np
from scipy import stats

LEVEL = 0.05
# Differences this small relative to their size are float rounding: all equal
# differences have no spread (an infinite t), all-zero ones are a tie.
TIE = 1e-9
RULE = (
    f"A verdict is a one-sided paired t-test over seeds of the per-seed margins (positive "
    f"when the claim holds) at the {LEVEL:.0%} level: reproduced when p < {LEVEL:g} for a "
    f"positive mean margin, not reproduced when p < {LEVEL:g} for a negative one, mixed "
    f"otherwise; p is the one-sided p-value in the claim's direction. One seed cannot be "
    f"tested (untestable: one seed)."
)


def finite(values):
    """The finite numbers among ``values`` as floats (None and NaN left out)."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def paired_verdict(differences, level=LEVEL):
    """The verdict of per-seed paired differences, and its p-value.

    Args:
        differences: one number per seed, positive when the claim holds (None
            or NaN where a seed has no number: left out).
        level: the significance level of each one-sided test.

    Returns:
        ``(verdict, p)``: the verdict (see the module docstring) and the
        one-sided p-value for "the mean difference is > 0", None when
        untestable or when every difference is 0 (a tie, "mixed").

    Raises:
        ValueError: when ``level`` is not strictly between 0 and 0.5.
    """
    if not 0.0 < level < 0.5:
        raise ValueError(
            f"level is the significance level of a one-sided test, strictly between 0 and "
            f"0.5, got {level!r}. Use e.g. level=0.05."
        )
    d = np.asarray(finite(differences))
    if len(d) == 0:
        return "untestable", None
    if len(d) == 1:
        return "untestable: one seed", None
    scale = TIE * max(1.0, float(np.max(np.abs(d))))
    mean, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    if sd <= scale:  # all differences equal: t is infinite, or 0/0 for a tie
        p = None if abs(mean) <= scale else (0.0 if mean > 0 else 1.0)
    else:
        p = float(stats.ttest_1samp(d, 0.0, alternative="greater").pvalue)
    if p is not None and p < level:
        return "reproduced", p
    if p is not None and p > 1.0 - level:
        return "not reproduced", p
    return "mixed", p
