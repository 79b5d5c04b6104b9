from pathlib import Path

import pytest
import symusic
from tests.conftest import ABC_TUNE, C_MAJOR_SCALE

from cadence.music.formats import LOADING_ERRORS, UnreadableMusic
from cadence.music.io import abc_reference_numbers, abc_to_score, load_score


def _pitches(score: symusic.Score) -> list[int]:
    return sorted(n.pitch for t in score.tracks for n in t.notes)


def test_midi_loads_every_note(scale_midi: Path) -> None:
    score = load_score(scale_midi)
    assert _pitches(score) == C_MAJOR_SCALE
    assert score.tempos[0].qpm == pytest.approx(120.0)


def test_abc_melody_and_chord_symbols_become_two_tracks(abc_file: Path) -> None:
    score = load_score(abc_file)
    names = [t.name for t in score.tracks]
    assert names[-1] == "chords"
    melody = sorted(n.pitch for n in score.tracks[0].notes)
    # G A B c d e d B | c e d B | A F G  -> 15 melody notes in G major
    assert len(melody) == 15
    assert melody[0] == 66  # F#4 from K:G
    chords = score.tracks[-1].notes
    assert len(chords) >= 5 * 3  # G C G D G, three notes each


def test_musicxml_loads(musicxml_file: Path) -> None:
    score = load_score(musicxml_file)
    assert _pitches(score) == sorted([60, 64, 67, 72, 67, 64])
    assert score.tempos[0].qpm == pytest.approx(100.0)
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (3, 4)


def test_abc_tune_selection_by_reference_number() -> None:
    text = ABC_TUNE + "\nX:7\nT:Second\nM:3/4\nL:1/4\nK:C\nCDE|]\n"
    assert abc_reference_numbers(text) == [1, 7]
    second = abc_to_score(text, number=7)
    assert _pitches(second) == [60, 62, 64]


@pytest.mark.parametrize(
    "kind", ["truncated-midi", "random-bytes", "zero-length", "broken-abc", "unsupported"]
)
def test_bad_files_raise_expected_errors(bad_files: dict[str, Path], kind: str) -> None:
    with pytest.raises(LOADING_ERRORS):
        score = load_score(bad_files[kind])
        if sum(len(t.notes) for t in score.tracks) == 0:
            raise UnreadableMusic("no notes")
