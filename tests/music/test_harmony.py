"""Chord names and the template chord estimator, on hand-checked profiles."""

import numpy as np
import pytest

from cadence.music.harmony import (
    NO_CHORD,
    all_chord_names,
    chord_tones,
    estimate_chord,
    parse_chord,
    transpose_chord,
    window_chords,
)


def _profile(*pitch_classes: int) -> np.ndarray:
    p = np.zeros(12)
    for pc in pitch_classes:
        p[pc % 12] += 1.0
    return p


@pytest.mark.parametrize(
    ("pcs", "bass", "expected"),
    [
        ((0, 4, 7), 0, "0:maj"),  # C E G
        ((9, 0, 4), 9, "9:min"),  # A C E
        ((7, 11, 2, 5), 7, "7:dom7"),  # G B D F
        ((11, 2, 5), 11, "11:dim"),  # B D F
        ((4, 7, 0), 4, "0:maj"),  # first inversion: still C major
    ],
    ids=["C", "Am", "G7", "Bdim", "C/E"],
)
def test_estimate_chord_on_triads_and_sevenths(pcs, bass, expected) -> None:
    assert estimate_chord(_profile(*pcs), bass) == expected


def test_empty_profile_is_no_chord() -> None:
    assert estimate_chord(np.zeros(12)) == NO_CHORD


def test_names_tones_and_transposition() -> None:
    assert chord_tones("7:dom7") == frozenset({7, 11, 2, 5})
    assert chord_tones(NO_CHORD) == frozenset()
    assert transpose_chord("9:min", 5) == "2:min"
    assert parse_chord("N") is None
    assert len(all_chord_names()) == 49 and NO_CHORD in all_chord_names()
    with pytest.raises(ValueError, match="chord name"):
        parse_chord("C:maj")


def test_windows_hold_the_previous_chord_over_silence() -> None:
    # C major for one beat, then nothing, then G major
    time = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 2.0])
    dur = np.ones(6)
    pitch = np.array([48, 52, 55, 43, 47, 50])
    got = window_chords(time, dur, pitch, [(0, 1), (1, 2), (2, 3)])
    assert got == ["0:maj", "0:maj", "7:maj"]
