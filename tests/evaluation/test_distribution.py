"""Overlap and divergence of KDE-smoothed value sets (Yang & Lerch 2020)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadence.evaluation.distribution import kl_divergence, overlap_area

RNG = np.random.default_rng(0)
NORMAL = RNG.normal(0.0, 1.0, 400)
SHIFTED = RNG.normal(1.0, 1.0, 400)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(NORMAL, id="normal"),
        pytest.param([0.1, 0.5, 0.5, 0.9], id="small"),
        pytest.param([3.0, 3.0, 3.0], id="constant"),
    ],
)
def test_identical_sets(values: list[float]) -> None:
    assert overlap_area(values, values) == pytest.approx(1.0, abs=1e-9)
    assert kl_divergence(values, values) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param([0.0, 0.1, 0.2, 0.3], [100.0, 100.1, 100.2], id="far-apart"),
        pytest.param([1.0, 1.0], [2.0, 2.0], id="two-constants"),
    ],
)
def test_disjoint_sets(a: list[float], b: list[float]) -> None:
    assert overlap_area(a, b) == pytest.approx(0.0, abs=1e-6)
    assert kl_divergence(a, b) > 10.0
    assert math.isfinite(kl_divergence(a, b))


def test_shifted_normals_match_the_closed_form() -> None:
    # N(0,1) vs N(1,1): overlap 2Φ(−½) ≈ 0.617, KL = ½ nat. KDE smoothing widens both a bit.
    assert overlap_area(NORMAL, SHIFTED) == pytest.approx(0.617, abs=0.06)
    assert kl_divergence(NORMAL, SHIFTED) == pytest.approx(0.5, abs=0.15)
    assert overlap_area(NORMAL, SHIFTED) == pytest.approx(overlap_area(SHIFTED, NORMAL))


def test_constant_against_spread() -> None:
    oa = overlap_area([0.5, 0.5, 0.5], [0.0, 0.25, 0.5, 0.75, 1.0])
    assert 0.0 < oa < 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param([1.0], [1.0, 2.0], id="one-value"),
        pytest.param([], [1.0, 2.0], id="empty"),
        pytest.param([1.0, math.nan, math.inf], [1.0, 2.0], id="one-finite-value"),
    ],
)
def test_too_few_values_is_nan(a: list[float], b: list[float]) -> None:
    assert math.isnan(overlap_area(a, b))
    assert math.isnan(kl_divergence(a, b))


def test_nan_values_are_dropped() -> None:
    assert overlap_area([0.1, math.nan, 0.9], [0.1, 0.9]) == pytest.approx(1.0, abs=1e-9)
