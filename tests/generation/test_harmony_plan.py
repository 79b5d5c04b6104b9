"""Chord progressions for plans: cadences at phrase ends, harmonic rhythm, form, diatonic."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.generation.form import plan_form
from cadence.generation.harmony import progression
from cadence.generation.plan import BARS_PER_CHORD
from cadence.music.harmony import chord_tones, parse_chord

MAJOR = frozenset({0, 2, 4, 5, 7, 9, 11})
MINOR = frozenset({0, 2, 3, 5, 7, 8, 10})


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    tonic=st.integers(0, 11),
    mode=st.sampled_from(["major", "minor"]),
    meter=st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 4)]),
    bars_per_chord=st.sampled_from(BARS_PER_CHORD),
    n_bars=st.integers(8, 80),
    answers=st.lists(st.integers(0, 3), min_size=1, max_size=4).map(tuple),
)
def test_progressions_are_diatonic_cadence_and_follow_the_form(
    seed, tonic, mode, meter, bars_per_chord, n_bars, answers
) -> None:
    form = plan_form(n_bars, answers=answers)
    chords = progression(
        form, tonic=tonic, mode=mode, meter=meter, bars_per_chord=bars_per_chord, seed=seed
    )
    assert len(chords) == n_bars
    scale = frozenset((tonic + s) % 12 for s in (MAJOR if mode == "major" else MINOR))
    tonic_chord = f"{tonic}:{'maj' if mode == 'major' else 'min'}"
    for i, pair in enumerate(chords):
        for name in pair:
            assert chord_tones(name) <= scale, f"bar {i}: {name} leaves the scale"
        if meter == (3, 4):
            assert pair[0] == pair[1], "triple meters keep one chord a bar"
        if bars_per_chord >= 1:
            assert pair[0] == pair[1]
        if form[i].copy_of is not None:
            assert pair == chords[form[i].copy_of], "a returning theme keeps its harmony"
    for end in range(7, n_bars, 8):  # every whole phrase closes on the tonic
        if form[end].copy_of is None:
            assert chords[end][1] == tonic_chord


def test_eight_bar_period_has_a_half_cadence_then_an_authentic_one() -> None:
    chords = progression(plan_form(8), tonic=0, mode="major", meter=(4, 4), seed=3)
    assert chords[3][1] in ("7:maj", "7:dom7")  # antecedent ends on V
    assert chords[6][1] in ("7:maj", "7:dom7") and chords[7][1] == "0:maj"  # V - I


def test_slow_harmony_changes_every_two_bars_and_its_cadence_every_bar() -> None:
    chords = progression(plan_form(8), tonic=0, mode="major", meter=(3, 4), bars_per_chord=2.0)
    assert all(chords[i] == chords[i + 1] for i in range(0, 6, 2))
    assert chords[6] == ("7:maj", "7:maj") and chords[7] == ("0:maj", "0:maj")  # V - I
    period = progression(
        plan_form(8, answers=(2,)), tonic=9, mode="minor", meter=(4, 4), bars_per_chord=2.0
    )
    assert period[4:6] == period[0:2]  # the answer restates the opening's harmony
    assert period[6] == ("4:min", "4:min") and period[7] == ("9:min", "9:min")  # v - i


def test_bad_harmonic_rhythm_is_refused() -> None:
    with pytest.raises(ValueError, match="bars_per_chord"):
        progression(plan_form(8), tonic=0, mode="major", meter=(4, 4), bars_per_chord=3.0)
    assert parse_chord("7:dom7") == (7, "dom7")
