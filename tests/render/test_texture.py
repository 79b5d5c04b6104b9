"""Texture by role: accompaniment and bass on chord tones, sounding in every bar, per pattern."""

from __future__ import annotations

import symusic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.generation.plan import ControlPlan
from cadence.music.harmony import chord_tones
from cadence.render.arrange import arrange
from cadence.render.texture import texture_notes
from cadence.therapy import Prescription
from cadence.therapy.goals import GOALS

GOAL_INPUTS = {"gait": {"cadence_spm": 100.0}, "anxiety": {"heart_rate": 92.0}}


def _chord_at(plan: ControlPlan, quarters: float) -> str:
    bar = min(int(quarters // plan.beats_per_bar), len(plan.bars) - 1)
    second = quarters - bar * plan.beats_per_bar >= plan.beats_per_bar / 2 - 1e-9
    return plan.chords[bar][1 if second else 0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    goal=st.sampled_from(GOALS),
    seed=st.integers(0, 10_000),
    key=st.sampled_from([None, "D", "Bb", "F#"]),
    mode=st.sampled_from([None, "major", "minor"]),
    meter=st.sampled_from([None, (3, 4), (6, 8), (2, 4)]),
)
def test_accompaniment_and_bass_play_chord_tones_in_every_bar(goal, seed, key, mode, meter):
    if goal == "gait" and meter == (6, 8):
        meter = None  # gait needs an x/4 meter
    inputs = GOAL_INPUTS.get(goal, {})
    p = Prescription.for_goal(goal, 2, seed=seed, key=key, mode=mode, meter=meter, **inputs)
    plan = p.to_control_plan()
    melody = symusic.Score(480)
    melody.tracks.append(symusic.Track("melody", 0, False))
    arranged = arrange(melody, plan)
    tpq = arranged.ticks_per_quarter
    bar_ticks = round(plan.beats_per_bar * tpq)
    for role in ("accompaniment", "bass"):
        assert role in plan.programs
        (track,) = [t for t in arranged.tracks if t.name == role]
        sounding = set()
        for note in track.notes:
            quarters = note.time / tpq
            assert note.pitch % 12 in chord_tones(_chord_at(plan, quarters)), (role, quarters)
            assert note.pitch % 12 in plan.scale
            low, high = plan.pitch_range[role]
            assert low <= note.pitch <= high
            first, last = note.time // bar_ticks, (note.end - 1) // bar_ticks
            sounding.update(range(first, last + 1))
        assert sounding >= set(range(len(plan.bars))), f"{role} is silent in some bar"


def _plan(goal: str, **kw) -> ControlPlan:
    inputs = GOAL_INPUTS.get(goal, {})
    return Prescription.for_goal(goal, 1, seed=1, **inputs, **kw).to_control_plan()


def test_patterns_fit_the_goal() -> None:
    # sleep: sustained pads, re-struck at most every two bars
    sleep = _plan("sleep")
    acc = texture_notes(sleep)["accompaniment"]
    assert min(d for _, d, _, _ in acc) >= sleep.beats_per_bar - 1e-9
    # gait: a chord on every beat of the bar, the bass on the downbeat
    gait = _plan("gait")
    notes = texture_notes(gait)
    onsets = sorted({t for t, _, _, _ in notes["accompaniment"]})
    assert onsets[:8] == [float(i) for i in range(8)]
    assert {t % gait.beats_per_bar for t, _, _, _ in notes["bass"]} <= {0.0, 2.0}
    # 3/4 block chords are a waltz: bass alone on beat 1, chords on beats 2 and 3
    waltz = _plan("cognition", meter=(3, 4))
    notes = texture_notes(waltz)
    assert {t % 3 for t, _, _, _ in notes["accompaniment"]} == {1.0, 2.0}
    assert {t % 3 for t, _, _, _ in notes["bass"]} == {0.0}
    # anxiety: a broken chord, one chord tone a beat
    anxiety = _plan("anxiety")
    acc = texture_notes(anxiety)["accompaniment"]
    first_bar = [t for t, _, _, _ in acc if t < anxiety.beats_per_bar]
    assert first_bar == [0.0, 1.0, 2.0, 3.0]


def test_velocities_stay_under_the_bar_cap() -> None:
    plan = _plan("mood")
    for notes in texture_notes(plan).values():
        for time, _, _, velocity in notes:
            bar = min(int(time // plan.beats_per_bar), len(plan.bars) - 1)
            assert 1 <= velocity <= plan.bars[bar].velocity_max
