"""Paired before/after statistics on hand-checked data."""

from __future__ import annotations

import pytest

from cadence.evaluation.outcomes import bootstrap_ci, paired_stats


def test_mean_change_and_exact_wilcoxon_by_hand() -> None:
    # Changes: -2, -3, 0, -5, +1. The zero is dropped; |d| ranks 1 (+1), 2 (-2), 3 (-3),
    # 4 (-5): W+ = 1, W- = 9, W = 1. Exact null over 2**4 sign patterns: P(W+ <= 1) = 2/16,
    # two-sided p = 4/16 = 0.25.
    s = paired_stats([10, 12, 9, 15, 11], [8, 9, 9, 10, 12])
    assert s.n == 5
    assert s.n_nonzero == 4
    assert s.mean_before == pytest.approx(57 / 5)
    assert s.mean_after == pytest.approx(48 / 5)
    assert s.mean_change == pytest.approx(-1.8)
    assert s.statistic == 1.0
    assert s.p_value == pytest.approx(0.25)
    assert s.method == "exact"
    assert "too small" in s.note and "0.125" in s.note  # 2 / 2**4
    assert s.ci_low is not None and s.ci_high is not None
    assert s.ci_low <= s.mean_change <= s.ci_high


def test_six_improvements_reach_significance_exactly() -> None:
    # Six positive changes of distinct size: W- = 0, exact two-sided p = 2 / 2**6 = 0.03125.
    s = paired_stats([50, 40, 60, 55, 45, 30], [51, 42, 63, 59, 50, 36])
    assert s.statistic == 0.0
    assert s.p_value == pytest.approx(0.03125)
    assert s.mean_change == pytest.approx(21 / 6)
    assert s.note == ""


def test_bootstrap_interval_by_hand() -> None:
    # Changes 0 and 2: resampled means are 0, 1, 2 with probabilities 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% quantiles are exactly 0 and 2.
    assert bootstrap_ci([0.0, 2.0], seed=1) == (0.0, 2.0)
    # Constant changes: the interval collapses onto the change.
    assert bootstrap_ci([3.0, 3.0, 3.0], seed=0) == (3.0, 3.0)


def test_bootstrap_is_seeded() -> None:
    data = [1.1, 4.3, -2.2, 7.9, 3.5, 0.6, 2.7, -0.4, 5.8, 1.9, 3.3, -1.6]
    assert bootstrap_ci(data, seed=5) == bootstrap_ci(data, seed=5)
    assert bootstrap_ci(data, seed=5, n_resamples=500) != bootstrap_ci(
        data, seed=6, n_resamples=500
    )


def test_ties_use_the_normal_approximation() -> None:
    s = paired_stats([0, 0, 0, 0, 0, 0, 0], [1, 1, 2, 2, 3, -1, 4])
    assert s.method == "approx"
    assert s.p_value is not None and 0.0 < s.p_value < 1.0


@pytest.mark.parametrize(
    ("before", "after", "note"),
    [
        pytest.param([], [], "no pairs", id="empty"),
        pytest.param([5, 6], [5, 6], "every change is zero", id="all-zero"),
        pytest.param([5], [7], "one pair", id="single"),
    ],
)
def test_degenerate_inputs_say_why(before: list[float], after: list[float], note: str) -> None:
    s = paired_stats(before, after)
    assert note in s.note
    if before == after:
        assert s.p_value is None


def test_single_pair_interval_is_the_change() -> None:
    s = paired_stats([5], [7])
    assert (s.ci_low, s.ci_high, s.mean_change) == (2.0, 2.0, 2.0)


def test_unpaired_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="paired"):
        paired_stats([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        paired_stats([1, float("nan")], [1, 2])
