"""file → Score → tokens → Score keeps every note, for MIDI, ABC and MusicXML fixtures."""

from pathlib import Path

import numpy as np
import pytest
import symusic

from cadence.music.harmony import all_chord_names
from cadence.music.io import load_score
from cadence.tokens.melody import melody_score
from cadence.tokens.roles import apply_roles, assign_roles
from cadence.tokens.tokenizer import CadenceTokenizer

RESOLUTION = 1 / 4  # quarter notes: the tokenizer's finest position step (a sixteenth)


def _notes(score: symusic.Score) -> list[tuple[float, int, float]]:
    sq = score.to("quarter")
    return sorted(
        (round(n.time / RESOLUTION) * RESOLUTION, n.pitch, n.duration)
        for t in sq.tracks
        for n in t.notes
    )


@pytest.mark.parametrize("fixture", ["scale_midi", "abc_file", "musicxml_file"])
def test_round_trip_keeps_every_melody_note(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    tok = CadenceTokenizer()
    score = load_score(path)
    score = apply_roles(score, assign_roles(score))
    melody = melody_score(score)
    back = tok.decode(tok.encode_piece(score))
    before, after = _notes(melody), _notes(back)
    assert len(after) == len(before) > 0
    for (t0, p0, d0), (t1, p1, d1) in zip(before, after, strict=True):
        assert (t0, p0) == (t1, p1)
        assert abs(d0 - d1) <= 0.5 + 1e-9  # durations over 4 beats are kept at 1/2 beat
    assert [t.name for t in back.tracks] == ["melody"]


def test_controls_follow_bos_and_every_bar(scale_midi: Path) -> None:
    tok = CadenceTokenizer()
    score = load_score(scale_midi)
    score = apply_roles(score, assign_roles(score))
    tokens = tok.tokens(tok.encode_piece(score, "bach"))
    assert tokens[:4] == ["BOS_None", "CtlMode_major", "CtlMeter_4/4", "CtlColl_bach"]
    bars = [i for i, t in enumerate(tokens) if t == "Bar_None"]
    assert len(bars) == 2
    for i in bars:
        assert [t.split("_")[0] for t in tokens[i + 1 : i + 6]] == [
            "CtlDens", "CtlReg", "CtlChord", "CtlChord", "TimeSig"
        ]  # fmt: skip
    assert all(t.removeprefix("CtlChord_") in all_chord_names() for t in tokens if "Chord" in t)
    assert not any(t.startswith(("Velocity_", "Tempo_", "Program_")) for t in tokens)
    assert tokens[-1] == "EOS_None"


def test_chords_come_from_every_part_and_the_melody_is_one_line() -> None:
    score = symusic.Score(480)
    melody = symusic.Track("", 0, False)
    chords = symusic.Track("", 0, False)
    for i in range(8):
        melody.notes.append(symusic.Note(i * 480, 480, 72 + (i % 3), 80))
        for p in (45, 48, 52) if i < 4 else (43, 47, 50):  # A minor, then G major
            chords.notes.append(symusic.Note(i * 480, 480, p, 70))
    melody.notes.append(symusic.Note(0, 240, 60, 80))  # a lower note under the first: dropped
    score.tracks.extend([melody, chords])
    roles = assign_roles(score)
    assert roles == ["melody", "accompaniment"]
    tok = CadenceTokenizer()
    ids = tok.encode_piece(apply_roles(score, roles))
    tokens = tok.tokens(ids)
    assert [t for t in tokens if t.startswith("CtlChord")] == ["CtlChord_9:min"] * 2 + [
        "CtlChord_7:maj"
    ] * 2
    back = tok.decode(ids)
    assert [t.name for t in back.tracks] == ["melody"]
    assert [n.pitch for n in back.tracks[0].notes] == [72 + (i % 3) for i in range(8)]


def test_bass_role_for_a_low_line() -> None:
    score = symusic.Score(480)
    for pitches in ([72, 74, 76], [40, 43, 45]):
        track = symusic.Track("", 0, False)
        for i, p in enumerate(pitches):
            track.notes.append(symusic.Note(i * 480, 480, p, 80))
        score.tracks.append(track)
    assert assign_roles(score) == ["melody", "bass"]


def test_tokenizer_save_load_gives_equal_tokenizer(tmp_path: Path) -> None:
    tok = CadenceTokenizer()
    tok.save(tmp_path / "tok.json")
    loaded = CadenceTokenizer.load(tmp_path / "tok.json")
    assert loaded == tok
    assert loaded.vocab_size == tok.vocab_size
    ids = tok.encode(_one_note())
    assert np.array_equal(loaded.encode(_one_note()), ids)


def _one_note() -> symusic.Score:
    score = symusic.Score(480)
    track = symusic.Track("melody", 0, False)
    track.notes.append(symusic.Note(0, 480, 60, 80))
    score.tracks.append(track)
    return score
