"""Prescriptions per goal against THERAPY.md, validation errors, round trips, plan length."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from cadence.errors import CadenceError
from cadence.generation.plan import ControlPlan
from cadence.therapy import GOALS, LUFS_CAP, Prescription
from cadence.therapy.evidence import DISCLAIMER, ENGINEERING, LAY, SOURCES
from cadence.therapy.goals import PROFILES
from cadence.therapy.instruments import GM_PROGRAMS, parse_instrument, parse_key


def _build(goal: str, minutes: float = 20, **kw: object) -> Prescription:
    if goal == "gait":
        kw.setdefault("cadence_spm", 100)
    return Prescription.for_goal(goal, minutes, **kw)


def _tempi(p: Prescription) -> list[float]:
    return [b.tempo_bpm for b in p.bars]


# --- goals against THERAPY.md -------------------------------------------------------------


def test_sleep_slows_and_ends_slow() -> None:
    p = _build("sleep", 30)
    t = _tempi(p)
    assert all(b <= a for a, b in itertools.pairwise(t))
    assert t[0] > t[-1]
    # Ends at the slow end of the (lay-only) 60-80 BPM rule.
    assert t[-1] == pytest.approx(60.0)
    assert p.bars[-1].arousal < p.bars[0].arousal
    assert p.fade_out_s > 0


def test_anxiety_starts_near_heart_rate_and_slows() -> None:
    p = _build("anxiety", 30, heart_rate=96)
    t = _tempi(p)
    assert t[0] == pytest.approx(96.0)
    assert t[-1] < t[0]
    assert all(b <= a for a, b in itertools.pairwise(t))
    assert p.bars[-1].velocity_max < p.bars[0].velocity_max  # softer
    assert p.bars[-1].density < p.bars[0].density  # simpler
    assert p.bars[-1].register < p.bars[0].register  # lower (Cotoia 2018)
    assert p.mode == "major"  # consonant, tonal (Parada-Cabaleiro 2022)


def test_mood_ends_faster_and_major() -> None:
    p = _build("mood", 30, valence=-0.6)
    assert p.mode == "major"
    assert p.bars[-1].tempo_bpm > p.bars[0].tempo_bpm
    assert p.bars[0].valence == pytest.approx(-0.6)
    assert p.bars[-1].valence > 0


def test_gait_starts_at_cadence_and_steps_within_bounds() -> None:
    cadence = 104.0
    p = _build("gait", 30, cadence_spm=cadence)
    t = _tempi(p)
    assert t[0] == cadence
    assert p.beat_layer and p.accents[0] == max(p.accents)
    assert "percussion" in p.programs
    assert all(abs(b - a) <= 1.0 + 1e-9 for a, b in itertools.pairwise(t))
    assert max(t) <= cadence * 1.12 + 1e-9 and min(t) >= cadence * 0.88 - 1e-9
    # Plateaus are separated by steps of at most 10% of cadence (PMC8801707).
    counts = Counter(round(x, 6) for x in t)
    plateaus = sorted(x for x, n in counts.items() if n > 10)
    assert plateaus == pytest.approx([cadence, cadence * 1.05, cadence * 1.10])
    assert plateaus[0] == cadence
    assert all(b - a <= 0.10 * cadence + 1e-9 for a, b in itertools.pairwise(plateaus))


@pytest.mark.parametrize("step", [0.05, 0.08, 0.10])
@pytest.mark.parametrize("target", [-0.12, -0.05, 0.0, 0.07, 0.12])
def test_gait_levels_and_range(step: float, target: float) -> None:
    p = _build("gait", 15, cadence_spm=90, gait_step=step, gait_target=target)
    t = _tempi(p)
    assert t[0] == 90
    assert t[-1] == pytest.approx(90 * (1 + target))
    assert all(0.88 * 90 - 1e-9 <= x <= 1.12 * 90 + 1e-9 for x in t)


def test_gait_fall_risk_forbids_increase() -> None:
    p = _build("gait", 30, cadence_spm=110, fall_risk=True)
    assert max(_tempi(p)) == 110
    with pytest.raises(CadenceError, match="fall_risk"):
        _build("gait", 30, cadence_spm=110, fall_risk=True, gait_target=0.05)
    slower = _build("gait", 30, cadence_spm=110, fall_risk=True, gait_target=-0.1)
    assert max(_tempi(slower)) == 110 and min(_tempi(slower)) == pytest.approx(99.0)


def test_cognition_is_steady_and_pain_follows_preferences() -> None:
    c = _build("cognition", 10, birth_year=1950)
    assert len(set(_tempi(c))) == 1
    assert c.reminiscence_years == (1963, 1969)  # ages 13-19 (Rao 2021)
    p = _build("pain", 10, arousal=0.4, valence=0.8)
    calm = _build("pain", 10, arousal=-0.6, valence=0.8)
    assert p.bars[-1].valence == pytest.approx(0.8)
    # The preferred arousal sets the tempo (80 + 30 x arousal BPM), and the planned arousal is
    # what the music then implies, so a livelier preference plans livelier music.
    assert p.bars[-1].tempo_bpm == pytest.approx(92.0)
    assert p.bars[-1].arousal > calm.bars[-1].arousal


def test_breathing_cue_is_three_quarters_of_rate() -> None:
    assert _build("anxiety", 10, breathing_rate=12).breathing_cue_per_min == pytest.approx(9.0)


@pytest.mark.parametrize("goal", GOALS)
def test_every_goal_is_safe_and_cited(goal: str) -> None:
    p = _build(goal, 25)
    assert p.target_lufs <= LUFS_CAP
    assert all(b.velocity_min <= b.velocity_max for b in p.bars)
    for key in PROFILES[goal].sources.values():
        assert key in SOURCES
    text = p.summary()
    assert text.splitlines()[-1] == DISCLAIMER
    assert "does not diagnose or treat" in text
    assert "LUFS" in text


def test_sleep_summary_flags_lay_rule() -> None:
    assert SOURCES[LAY] in _build("sleep").summary()
    assert SOURCES[ENGINEERING] in _build("sleep").summary()


# --- plan and round trips -----------------------------------------------------------------


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("minutes", [0.05, 1, 7.5, 45, 180])
def test_plan_lasts_requested_minutes_within_one_bar(goal: str, minutes: float) -> None:
    p = _build(goal, minutes)
    plan = p.to_control_plan()
    assert isinstance(plan, ControlPlan)
    assert len(plan.bars) == len(p.bars)
    longest = max(plan.bar_seconds())
    assert abs(plan.duration_seconds() - minutes * 60) <= longest
    assert plan.programs == p.programs and plan.meter == p.meter and plan.mode == p.mode


@pytest.mark.parametrize("goal", GOALS)
def test_json_round_trip(goal: str) -> None:
    p = _build(goal, 12, heart_rate=88, key="F# minor", instrument="flute", seed=7)
    assert Prescription.from_dict(p.to_dict()) == p
    assert Prescription.from_json(p.to_json()) == p


def test_options_applied() -> None:
    p = _build("sleep", 10, key="Bb", mode="minor", instrument=41)
    assert (p.key_tonic, p.mode, p.programs["melody"]) == (10, "minor", 41)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"goal": "walking"}, "goal"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": -3}, "minutes"),
        ({"minutes": 181}, "minutes"),
        ({"goal": "gait", "cadence_spm": 29}, "cadence_spm"),
        ({"goal": "gait", "cadence_spm": 201}, "cadence_spm"),
        ({"goal": "gait", "cadence_spm": None}, "cadence_spm"),
        ({"heart_rate": 25}, "heart_rate"),
        ({"heart_rate": 221}, "heart_rate"),
        ({"instrument": "theremin"}, "instrument"),
        ({"instrument": 128}, "instrument"),
        ({"key": "H"}, "key"),
        ({"key": "A minor", "mode": "major"}, "mode"),
        ({"mode": "dorian"}, "mode"),
        ({"arousal": 2}, "arousal"),
        ({"goal": "gait", "gait_step": 0.2}, "gait_step"),
        ({"goal": "gait", "gait_target": 0.2}, "gait_target"),
        ({"gait_step": 0.05}, "gait_step"),
    ],
    ids=lambda v: str(v),
)
def test_bad_input_raises_one_clear_line(kw: dict[str, object], field: str) -> None:
    goal = kw.pop("goal", "anxiety")
    minutes = kw.pop("minutes", 10)
    if goal == "gait":
        kw.setdefault("cadence_spm", 100)
    with pytest.raises(CadenceError) as err:
        Prescription.for_goal(goal, minutes, **kw)  # type: ignore[arg-type]
    msg = str(err.value)
    assert msg.startswith(field) and "\n" not in msg
    assert isinstance(err.value, ValueError)


def test_constructor_rejects_unsafe_prescriptions() -> None:
    p = _build("sleep", 10)
    d = p.to_dict()
    with pytest.raises(CadenceError, match="target_lufs"):
        Prescription.from_dict({**d, "target_lufs": -10.0})
    jumpy = [dict(b) for b in d["bars"]]
    jumpy[5]["velocity_max"] = 120
    with pytest.raises(CadenceError, match="velocity_max"):
        Prescription.from_dict({**d, "bars": jumpy})
    with pytest.raises(CadenceError, match="bars"):
        Prescription.from_dict({**d, "bars": d["bars"][: len(d["bars"]) // 2]})
    with pytest.raises(CadenceError, match="unknown"):
        Prescription.from_dict({**d, "colour": "blue"})


def test_constructor_rejects_gait_jumps_and_fall_risk_increase() -> None:
    g = _build("gait", 10, cadence_spm=100).to_dict()
    bars = [dict(b) for b in g["bars"]]
    bars[-1]["tempo_bpm"] = bars[-2]["tempo_bpm"] + 3
    with pytest.raises(CadenceError, match="tempo_bpm"):
        Prescription.from_dict({**g, "bars": bars})
    with pytest.raises(CadenceError, match="fall risk"):
        Prescription.from_dict({**g, "fall_risk": True})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C", (0, None)),
        ("F#", (6, None)),
        ("Bb", (10, None)),
        ("A minor", (9, "minor")),
        ("am", (9, "minor")),
        ("Bm", (11, "minor")),
        ("Eb major", (3, "major")),
        (7, (7, None)),
        ("B flat minor", (10, "minor")),
    ],
    ids=str,
)
def test_parse_key(text: str | int, expected: tuple[int, str | None]) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize(
    ("name", "program"),
    [
        ("piano", 0),
        ("Acoustic Grand Piano", 0),
        ("flute", 73),
        ("strings", 48),
        ("harp", 46),
        ("nylon guitar", 24),
        ("Acoustic Guitar (nylon)", 24),
        ("40", 40),
        (127, 127),
    ],
    ids=str,
)
def test_parse_instrument(name: str | int, program: int) -> None:
    assert parse_instrument(name) == program


def test_gm_table_is_complete() -> None:
    assert len(GM_PROGRAMS) == 128
    assert (GM_PROGRAMS[0], GM_PROGRAMS[46], GM_PROGRAMS[73]) == (
        "acoustic grand piano",
        "orchestral harp",
        "flute",
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"heart_rate": "fast"}, "heart_rate"),
        ({"heart_rate": float("nan")}, "heart_rate"),
        ({"valence": float("inf")}, "valence"),
        ({"breathing_rate": 60}, "breathing_rate"),
        ({"birth_year": 1800}, "birth_year"),
        ({"meter": (3, 8), "goal": "gait"}, "meter"),
        ({"meter": (3, "x")}, "meter"),
    ],
    ids=str,
)
def test_non_numbers_and_odd_options_rejected(kw: dict[str, object], field: str) -> None:
    goal = kw.pop("goal", "sleep")
    if goal == "gait":
        kw.setdefault("cadence_spm", 100)
    with pytest.raises(CadenceError, match=f"^{field}"):
        Prescription.for_goal(str(goal), 5, **kw)  # type: ignore[arg-type]


def test_short_session_shrinks_fades_and_goal_name_is_forgiving() -> None:
    p = Prescription.for_goal(" Sleep ", 0.5, meter=(6, 8))
    assert p.goal == "sleep" and p.meter == (6, 8)
    assert p.fade_in_s + p.fade_out_s <= 0.5 * p.duration_seconds() + 1e-9


def test_control_plan_carries_beat_layer() -> None:
    plan = _build("gait", 5, cadence_spm=96).to_control_plan()
    assert plan.beat_layer and plan.accents == (1.0, 0.6, 0.6, 0.6)
    assert plan.programs["percussion"] == 0
    assert ControlPlan.from_dict(plan.to_dict()) == plan
