"""Paired before/after outcome statistics for one patient or one goal (pure functions).

For paired measurements (one ``before`` and one ``after`` value per session), the change is
``after - before``. :func:`paired_stats` gives:

- the mean change and the means before and after;
- a percentile bootstrap 95% confidence interval of the mean change (Efron & Tibshirani 1993,
  *An Introduction to the Bootstrap*, ch. 13), resampling the paired differences with a seeded
  generator, so the same data and seed give the same interval;
- the Wilcoxon signed-rank test (Wilcoxon 1945, Biometrics Bulletin 1(6)) through
  ``scipy.stats.wilcoxon``: zero differences are dropped first (Wilcoxon's own treatment), the
  exact null distribution is used when no absolute differences tie and n <= 50, else the normal
  approximation with tie correction.

Small samples: with n non-zero differences the smallest two-sided exact p-value is
``2 / 2**n``, so below n = 6 (2/32 = 0.0625) the test can never reach p < 0.05; the result
says so in ``note``. With no pairs, or only zero differences, there is no test (p is None).

Which direction is an improvement depends on the measure (STAI down, mood VAS up); these
functions report the raw change and leave the sign to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

# Bootstrap resamples. 10,000 is Efron & Tibshirani's (1993, ch. 13) order for percentile
# intervals; the interval's Monte-Carlo error is then well under its width.
N_BOOTSTRAP = 10_000
CONFIDENCE = 0.95
# Below this many non-zero differences the exact two-sided signed-rank p-value cannot fall
# below 0.05 (2 / 2**5 = 0.0625).
MIN_N_FOR_SIGNIFICANCE = 6
# The exact signed-rank distribution is used up to this n (scipy's own 'auto' threshold).
EXACT_MAX_N = 50


@dataclass(frozen=True)
class PairedStats:
    """Before/after statistics for one measure.

    n: number of pairs; n_nonzero: pairs with a non-zero change (the signed-rank test's n).
    mean_before, mean_after, mean_change: means (None when n == 0).
    ci_low, ci_high: bootstrap 95% CI of the mean change (None when n == 0).
    statistic: Wilcoxon's W (the smaller of the signed-rank sums), p_value: two-sided; both
    None when there is nothing to test. method: "exact", "approx" or None. note: "" or a
    sentence on why the result is weak or missing.
    """

    n: int
    n_nonzero: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    ci_low: float | None
    ci_high: float | None
    statistic: float | None
    p_value: float | None
    method: str | None
    note: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    n_resamples: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (Efron & Tibshirani 1993).

    Seeded (``numpy.random.default_rng(seed)``). One value gives (value, value); no values
    raise ValueError.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def paired_stats(
    before: Sequence[float] | np.ndarray,
    after: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    n_resamples: int = N_BOOTSTRAP,
) -> PairedStats:
    """Mean change, bootstrap 95% CI and Wilcoxon signed-rank test of ``after - before``.

    ``before`` and ``after`` are paired element by element and must have the same length
    (ValueError otherwise) and finite values. See the module docstring for the edge cases.
    """
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1:
        raise ValueError(
            f"before and after must be paired 1-D sequences of equal length, got {b.shape} "
            f"and {a.shape}"
        )
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(a))):
        raise ValueError("before and after must hold finite numbers")
    n = int(b.size)
    if n == 0:
        return PairedStats(0, 0, None, None, None, None, None, None, None, None, "no pairs")
    diff = a - b
    lo, hi = bootstrap_ci(diff, seed=seed, n_resamples=n_resamples)
    nonzero = diff[diff != 0]
    m = int(nonzero.size)
    statistic = p_value = None
    method = None
    notes: list[str] = []
    if n == 1:
        notes.append("one pair: the interval is the single change, not an estimate")
    if m == 0:
        notes.append("every change is zero: no signed-rank test")
    else:
        ties = np.unique(np.abs(nonzero)).size < m
        method = "exact" if (not ties and m <= EXACT_MAX_N) else "approx"
        res = stats.wilcoxon(nonzero, zero_method="wilcox", method=method)
        statistic, p_value = float(res.statistic), float(res.pvalue)
        if m < MIN_N_FOR_SIGNIFICANCE:
            notes.append(
                f"n = {m} non-zero changes is too small: the smallest possible two-sided "
                f"p-value is {2.0 / 2**m:.4g}, so the test cannot reach p < 0.05"
            )
    return PairedStats(
        n=n,
        n_nonzero=m,
        mean_before=float(b.mean()),
        mean_after=float(a.mean()),
        mean_change=float(diff.mean()),
        ci_low=lo,
        ci_high=hi,
        statistic=statistic,
        p_value=None if p_value is None or math.isnan(p_value) else p_value,
        method=method,
        note="; ".join(notes),
    )
