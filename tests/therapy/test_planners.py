"""Property tests: the iso planner and RAS stay monotone and inside their rate bounds."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.therapy import Prescription
from cadence.therapy.iso import DEFAULT_LIMITS, DIMENSIONS, State, implied_arousal, plan_iso
from cadence.therapy.ras import MAX_BPM_PER_BAR, gait_levels, plan_gait

EPS = 1e-9

states = st.builds(
    State,
    tempo_bpm=st.floats(40, 160),
    arousal=st.floats(-1, 1),
    valence=st.floats(-1, 1),
    density=st.floats(0.25, 6),
    register=st.floats(48, 84),
    velocity_max=st.floats(40, 120),
)


def _value(bar: object, dim: str) -> float:
    return float(getattr(bar, dim))


@settings(max_examples=60, deadline=None)
@given(start=states, target=states, minutes=st.floats(0.2, 40), num=st.sampled_from([2, 3, 4]))
def test_iso_monotone_and_rate_bounded(
    start: State, target: State, minutes: float, num: int
) -> None:
    bars = plan_iso(start, target, minutes, float(num))
    starts = [0.0]
    for b in bars:
        starts.append(starts[-1] + num * 60.0 / b.tempo_bpm)
    assert abs(starts[-1] - minutes * 60) <= max(num * 60.0 / b.tempo_bpm for b in bars)
    for b in bars:  # arousal is what the bar's music implies, not planned on its own
        assert b.arousal == implied_arousal(b.tempo_bpm, b.density, b.velocity_min, b.velocity_max)
    for dim in (d for d in DIMENSIONS if d != "arousal"):
        a, z = float(getattr(start, dim)), float(getattr(target, dim))
        vals = [_value(b, dim) for b in bars]
        per_bar = getattr(DEFAULT_LIMITS.per_bar, dim)
        per_min = getattr(DEFAULT_LIMITS.per_minute, dim)
        rounding = 1.0 if dim == "velocity_max" else EPS  # the cap is rounded to an integer
        sign = 1.0 if z >= a else -1.0
        lo, hi = min(a, z), max(a, z)
        for x, y in itertools.pairwise(vals):
            assert sign * (y - x) >= -rounding, dim  # monotone toward the target
            assert abs(y - x) <= per_bar + rounding, dim
        for x in vals:
            assert lo - rounding <= x <= hi + rounding, dim
        # Over any 60 s window (between bar starts) the change is at most per_minute.
        j = 0
        for i in range(len(vals)):
            while j + 1 < len(vals) and starts[j + 1] - starts[i] <= 60.0:
                j += 1
            assert abs(vals[j] - vals[i]) <= per_min + 2 * rounding, dim


@settings(max_examples=40, deadline=None)
@given(start=states, target=states)
def test_iso_reaches_target_when_time_allows(start: State, target: State) -> None:
    # 180 min leaves ample time at the default limits for any pair of states above.
    bars = plan_iso(start, target, 180.0, 4.0)
    assert abs(bars[-1].tempo_bpm - target.tempo_bpm) < 1e-6
    assert abs(bars[-1].density - target.density) < 1e-6
    vmax = round(target.velocity_max)
    implied = implied_arousal(target.tempo_bpm, target.density, max(1, vmax - 30), vmax)
    assert abs(bars[-1].arousal - implied) < 1e-6


@settings(max_examples=60, deadline=None)
@given(
    cadence=st.floats(30, 200),
    minutes=st.floats(0.1, 60),
    step=st.floats(0.05, 0.10),
    target=st.floats(-0.12, 0.12),
    fall_risk=st.booleans(),
)
def test_ras_bounded(
    cadence: float, minutes: float, step: float, target: float, fall_risk: bool
) -> None:
    if fall_risk:
        target = min(target, 0.0)
    levels = gait_levels(step, target, fall_risk)
    assert levels[0] == 0.0
    assert all(abs(b - a) <= step + EPS for a, b in itertools.pairwise(levels))
    bars = plan_gait(cadence, minutes, 4.0, levels)
    t = [b.tempo_bpm for b in bars]
    assert t[0] == cadence
    assert all(abs(b - a) <= MAX_BPM_PER_BAR + EPS for a, b in itertools.pairwise(t))
    assert all(cadence * 0.88 - EPS <= x <= cadence * 1.12 + EPS for x in t)
    if fall_risk:
        assert max(t) <= cadence


@settings(max_examples=40, deadline=None)
@given(
    goal=st.sampled_from(["sleep", "anxiety", "mood", "pain", "cognition"]),
    minutes=st.floats(0.1, 90),
    heart_rate=st.none() | st.floats(30, 220),
    arousal=st.none() | st.floats(-1, 1),
    valence=st.none() | st.floats(-1, 1),
)
def test_any_patient_state_gives_a_valid_prescription(
    goal: str,
    minutes: float,
    heart_rate: float | None,
    arousal: float | None,
    valence: float | None,
) -> None:
    p = Prescription.for_goal(
        goal, minutes, heart_rate=heart_rate, arousal=arousal, valence=valence
    )
    t = [b.tempo_bpm for b in p.bars]
    if goal in ("sleep", "anxiety"):
        assert all(b <= a + EPS for a, b in itertools.pairwise(t))
    if goal == "mood":
        assert all(b >= a - EPS for a, b in itertools.pairwise(t))
    assert Prescription.from_json(p.to_json()) == p
