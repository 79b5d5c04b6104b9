"""The musicality benchmark: feature values on hand-made fixtures, the two-sample test, and
`cadence evaluate --musicality` on bad input."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import symusic

from cadence.evaluation.musicality import harmonic, melodic, rhythmic, structure, texture
from cadence.evaluation.musicality.benchmark import Measured, compare, measure, sanity
from cadence.evaluation.musicality.features import EXCERPT_FEATURES, excerpt_features
from cadence.evaluation.musicality.parts import excerpts, n_bars
from cadence.evaluation.musicality.pieces import Piece
from cadence.evaluation.musicality.twosample import (
    classifier_two_sample_test,
    feature_overlaps,
)

TPQ = 480
C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]
SCALE_PITCHES = [0, 2, 4, 5, 7, 9, 11]


def make_score(
    parts: dict[str, list[tuple[float, float, int]]], meter: tuple[int, int] = (4, 4)
) -> symusic.Score:
    """A score from {role: [(onset, duration, pitch)]}, times in quarter notes."""
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    score.tempos.append(symusic.Tempo(0, 120.0))
    for name, notes in parts.items():
        track = symusic.Track(name, 0, name == "beat")
        for onset, dur, pitch in notes:
            track.notes.append(symusic.Note(round(onset * TPQ), round(dur * TPQ), pitch, 80))
        score.tracks.append(track)
    return score


def scale() -> symusic.Score:
    return make_score({"melody": [(i, 1, p) for i, p in enumerate(C_MAJOR)]})


# ---- melody ---------------------------------------------------------------------------------
def test_c_major_scale_melody_features() -> None:
    s = scale()
    assert melodic.step_share(s) == 1.0
    assert melodic.leap_share(s) == 0.0
    assert melodic.repeat_share(s) == 0.0
    assert melodic.contour_changes(s) == 0.0
    assert melodic.pitch_range(s) == 12.0
    # five whole steps and two half steps: -(5/7 log2 5/7 + 2/7 log2 2/7)
    assert melodic.interval_entropy(s) == pytest.approx(0.863120568566631, abs=1e-12)
    assert melodic.overlapping_notes(s) == 0


def test_c_major_scale_rhythm_features() -> None:
    s = scale()
    assert rhythmic.on_grid_share(s) == 1.0
    assert rhythmic.note_value_entropy(s) == 0.0
    assert rhythmic.note_value_shares(s) == {"short": 0.0, "middle": 1.0, "long": 0.0}
    assert rhythmic.rhythmic_repetition(s) == 1.0  # bar 2 has bar 1's four quarter onsets
    assert rhythmic.onset_density(s) == 1.0


def test_step_and_leap_shares_skip_repeats() -> None:
    # intervals: 0 (repeat), +2 (step), +9 (leap), -4 (neither)
    s = make_score({"melody": [(0, 1, 60), (1, 1, 60), (2, 1, 62), (3, 1, 71), (4, 1, 67)]})
    assert melodic.repeat_share(s) == 0.25
    assert melodic.step_share(s) == pytest.approx(1 / 3)
    assert melodic.leap_share(s) == pytest.approx(1 / 3)
    assert melodic.contour_changes(s) == pytest.approx(1 / 5)  # up, up, down: one change


def test_two_overlapping_melody_notes_count_once() -> None:
    s = make_score({"melody": [(0, 2, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65)]})
    assert melodic.overlapping_notes(s) == 1  # the note at 1 starts under the one at 0
    assert melodic.overlap_share(s) == 0.25


def test_a_long_note_with_five_notes_under_it_counts_five() -> None:
    s = make_score({"melody": [(0, 11.75, 72)] + [(1 + i, 0.5, 60 + i) for i in range(5)]})
    assert melodic.overlapping_notes(s) == 5


def test_a_note_starting_where_the_previous_ends_does_not_overlap() -> None:
    s = make_score({"melody": [(0, 1, 60), (1, 1, 62)], "accompaniment": [(0, 2, 48)]})
    assert melodic.overlapping_notes(s) == 0  # and other parts never count


def test_empty_melody_gives_nan_and_zero_counts() -> None:
    s = make_score({"accompaniment": [(0, 4, 48)]})
    assert math.isnan(melodic.step_share(s))
    assert math.isnan(melodic.pitch_range(s))
    assert math.isnan(rhythmic.on_grid_share(s))
    assert melodic.overlapping_notes(s) == 0


def test_off_grid_onsets_in_simple_and_compound_meters() -> None:
    sixteenths = [(i * 0.25, 0.25, 60) for i in range(8)]  # half of them between eighths
    assert rhythmic.on_grid_share(make_score({"melody": sixteenths})) == 0.5
    triplets = [(i / 3, 1 / 3, 60) for i in range(6)]  # on the grid at 0 and 1 only
    assert rhythmic.on_grid_share(make_score({"melody": triplets})) == pytest.approx(2 / 6)
    jig = [(i * 0.5, 0.5, 60) for i in range(12)]  # eighths in 6/8: all on the grid
    assert rhythmic.on_grid_share(make_score({"melody": jig}, meter=(6, 8))) == 1.0


def test_drum_and_beat_tracks_are_ignored() -> None:
    s = make_score({"melody": [(0, 1, 60)], "beat": [(i * 0.5, 0.1, 37) for i in range(40)]})
    assert n_bars(s) == 1
    assert texture.sounding_share(s, "melody") == 1.0


# ---- harmony --------------------------------------------------------------------------------
def test_chord_tones_on_strong_beats() -> None:
    # C major triad held over two bars; melody on the strong beats (1 and 3 in 4/4):
    # C (chord tone), E (chord tone), D on a weak beat (not counted), F# (not a chord tone)
    chord = [(0, 8, 48), (0, 8, 52), (0, 8, 55)]
    melody = [(0, 2, 72), (2, 1, 76), (3, 1, 74), (4, 2, 78)]
    s = make_score({"melody": melody, "accompaniment": chord})
    assert harmonic.chord_labels(s) == ["C", "C", "C", "C"]
    assert harmonic.chord_tone_share(s) == pytest.approx(2 / 3)
    assert harmonic.chord_vocabulary(s) == 1.0
    assert harmonic.chord_entropy(s) == 0.0


def test_minor_chord_and_vocabulary() -> None:
    chords = [(0, 2, 57), (0, 2, 60), (0, 2, 64), (2, 2, 53), (2, 2, 57), (2, 2, 60)]
    s = make_score({"melody": [(0, 4, 69)], "accompaniment": chords})
    assert harmonic.chord_labels(s) == ["Am", "F"]
    assert harmonic.chord_vocabulary(s) == 2.0
    assert harmonic.chord_entropy(s) == 1.0


def test_consonance_of_simultaneities() -> None:
    # onset 0: C4+G4 (a fifth, consonant); onset 2: C4+C#4 (a minor second, dissonant)
    s = make_score({"melody": [(0, 1, 67), (2, 1, 61)], "bass": [(0, 1, 60), (2, 1, 60)]})
    assert harmonic.consonance(s) == 0.5


def test_a_bare_melody_has_no_harmony() -> None:
    s = scale()
    assert math.isnan(harmonic.chord_tone_share(s))
    assert math.isnan(harmonic.consonance(s))
    assert math.isnan(harmonic.chord_vocabulary(s))


# ---- texture and structure ------------------------------------------------------------------
def test_parts_sounding_and_polyphony() -> None:
    melody = [(i, 1, 72) for i in range(16)]  # four bars
    triad = [(4, 4, 48), (4, 4, 52), (4, 4, 55)]  # sustained through bar 2 only
    s = make_score({"melody": melody, "accompaniment": triad})
    assert texture.sounding_share(s, "melody") == 1.0
    assert texture.sounding_share(s, "accompaniment") == 0.25
    assert texture.sounding_share(s, "bass") == 0.0  # prescribed but absent: silent
    assert texture.polyphony(s, "accompaniment") == 3.0
    assert texture.polyphony(s, "melody") == 1.0
    assert math.isnan(texture.polyphony(s, "bass"))


def _phrase(start_bar: int, pitches: list[int]) -> list[tuple[float, float, int]]:
    return [(start_bar * 4 + i, 1, p) for i, p in enumerate(pitches)]


def test_phrase_repetition_and_distinct_phrases() -> None:
    a = [60, 62, 64, 65] * 4  # one 4-bar phrase of quarter notes
    b = [67, 65, 64, 62] * 4
    melody = _phrase(0, a) + _phrase(4, a) + _phrase(8, b) + _phrase(12, [p + 2 for p in a])
    s = make_score({"melody": melody})
    # lag 4: A->A literal (4 bars of 1.0), A->B share 1 of 7 (position, pitch) pairs (the E
    # on beat 3), B->A+2 nothing: (4 + 4/7 + 0) / 12
    assert structure.repetition_at_lag(s, 4) == pytest.approx((4 + 4 / 7) / 12)
    assert structure.phrases(s)[3] == structure.phrases(s)[0]  # transposed: the same phrase
    assert structure.distinct_phrases(s) == 2
    assert structure.distinct_phrase_share(s) == 0.5
    assert structure.duration_seconds(s) == 32.0  # 64 quarters at 120 BPM
    assert structure.distinct_phrases_per_5min(s) == pytest.approx(2 * 300 / 32)
    # lag 8: A->B 1/7 per bar, A->A+2 nothing (transposed is not literal): (4/7 + 0) / 8
    assert structure.repetition_at_lag(s, 8) == pytest.approx(1 / 14)


def test_excerpts_of_eight_bars() -> None:
    long = make_score({"melody": [(i, 1, 60 + i % 5) for i in range(4 * 20)]})
    cuts = excerpts(long, 8)
    assert [n_bars(c) for c in cuts] == [8, 8]  # the 4-bar remainder is dropped
    assert len(excerpt_features(long)) == 2
    short = make_score({"melody": [(i, 1, 60) for i in range(4 * 5)]})
    assert [n_bars(c) for c in excerpts(short, 8)] == [5]
    assert excerpts(make_score({}), 8) == []


# ---- two-sample test ------------------------------------------------------------------------
def tune(rng: np.random.Generator, bars: int = 16) -> symusic.Score:
    """A structured melody in C major: stepwise 2-bar motifs in quarters and eighths, each
    phrase (4 bars) a motif and its sequence, phrases repeated AABA."""
    degree = int(rng.integers(0, 7))

    def motif() -> list[tuple[float, int]]:
        nonlocal degree
        out, t = [], 0.0
        while t < 8:
            d = 0.5 if rng.random() < 0.3 else 1.0
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 0]), -3, 10))
            out.append((t, 60 + 12 * (degree // 7) + SCALE_PITCHES[degree % 7]))
            t += d
        return out

    phrases = [motif() + [(t + 8, p) for t, p in motif()] for _ in range(2)]
    form = [phrases[0], phrases[0], phrases[1], phrases[0]][: bars // 4]
    notes = []
    for k, phrase in enumerate(form):
        times = [t for t, _ in phrase] + [16.0]
        for (t, p), nxt in zip(phrase, times[1:], strict=False):
            notes.append((k * 16 + t, nxt - t, p))
    return make_score({"melody": notes})


def shuffled(score: symusic.Score, rng: np.random.Generator) -> symusic.Score:
    """The same rhythm with the melody's pitches in random order."""
    out = score.copy()
    notes = out.tracks[0].notes
    pitches = rng.permutation([n.pitch for n in notes])
    for note, pitch in zip(notes, pitches, strict=True):
        note.pitch = int(pitch)
    return out


@pytest.fixture(scope="module")
def tune_sets() -> tuple[Measured, Measured]:
    """60 structured tunes, and the same tunes with shuffled pitches, measured."""
    rng = np.random.default_rng(7)
    real = [tune(rng) for _ in range(60)]
    fake = [shuffled(s, rng) for s in real]
    return (
        measure([Piece(f"real{i}", s, ("melody",)) for i, s in enumerate(real)]),
        measure([Piece(f"shuf{i}", s, ("melody",)) for i, s in enumerate(fake)]),
    )


def test_two_halves_of_one_set_are_indistinguishable(tune_sets) -> None:  # type: ignore[no-untyped-def]
    result = sanity(tune_sets[0], seed=0)
    accuracy = result["c2st"]["accuracy"]
    # the mean over 5 random halvings of 60 tunes (one run alone varies by about 0.05-0.1)
    assert abs(accuracy - 0.5) <= 0.1, accuracy
    assert result["c2st"]["repeats"] == 5
    assert result["c2st"]["grouped"] is True
    assert result["mean_overlap"] > 0.8


def test_real_against_shuffled_pitches_is_told_apart(tune_sets) -> None:  # type: ignore[no-untyped-def]
    real, fake = tune_sets
    result = compare(fake, real, seed=0)
    assert result["c2st"]["accuracy"] >= 0.95
    assert result["c2st"]["repeats"] == 5
    # what tells them apart: shuffled pitches leap and turn; the rhythm is the same
    assert result["overlap"]["step_share"] < 0.3
    assert result["overlap"]["onset_density"] > 0.95
    # the harmony of a bare melody is undefined on both sides: left out, and named
    assert set(result["c2st"]["dropped"]) == {
        "chord_tone_share", "consonance", "chord_vocabulary", "chord_entropy",
    }  # fmt: skip


def test_two_sample_test_balances_and_needs_enough_rows() -> None:
    rng = np.random.default_rng(0)
    a = [{"x": float(v)} for v in rng.normal(0, 1, 300)]
    b = [{"x": float(v)} for v in rng.normal(4, 1, 40)]
    result = classifier_two_sample_test(a, b, seed=1)
    assert result.per_class == 40
    assert result.accuracy >= 0.95
    assert result.grouped is False
    few = classifier_two_sample_test(a, b[:4])
    assert math.isnan(few.accuracy)
    overlap = feature_overlaps(a, a)
    assert overlap["x"] == pytest.approx(1.0)


def test_every_excerpt_feature_is_a_float() -> None:
    row = excerpt_features(scale())[0]
    assert list(row) == list(EXCERPT_FEATURES)
    assert all(isinstance(v, float) for v in row.values())


# ---- CLI ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dataset of one collection, "tunes", half of it marked as the test split."""
    from cadence.tokens.ingest import ingest

    root = tmp_path_factory.mktemp("musicality")
    src = root / "tunes"
    src.mkdir()
    rng = np.random.default_rng(3)
    for i in range(12):
        tune(rng).dump_midi(src / f"t{i}.mid")
    ingest([str(src)], root / "ds", workers=1)
    manifest = root / "ds" / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    for i, row in enumerate(rows):
        row["split"] = "test" if i % 2 else "train"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "ds"


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    from cadence.cli import main

    monkeypatch.setattr(sys, "argv", ["cadence", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0)


def _session(folder: Path, goal: str, score: symusic.Score) -> None:
    folder.mkdir(parents=True)
    score.dump_midi(folder / "session.mid")
    programs = {"melody": 0, "accompaniment": 48, "percussion": 0}
    (folder / "prescription.json").write_text(json.dumps({"goal": goal, "programs": programs}))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param("no-style", "has no test pieces of lullaby", id="no-test-pieces-of-style"),
        pytest.param("empty", "holds no MIDI files", id="generated-without-midi"),
        pytest.param("wrong-kind", "holds no MIDI files", id="generated-without-midi-only-text"),
        pytest.param("missing", "does not exist", id="generated-missing"),
    ],
)
def test_musicality_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    message: str,
) -> None:
    gen = tmp_path / "gen"
    if setup != "missing":
        gen.mkdir()
    if setup == "wrong-kind":
        (gen / "notes.txt").write_text("hello")
    if setup == "no-style":
        scale().dump_midi(gen / "a.mid")
    args = ["evaluate", str(gen), "--reference", str(dataset), "--musicality"]
    args += ["--style", "lullaby", "--out", str(tmp_path / "ev")]
    assert _main(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    if setup == "no-style":
        assert "tunes (6)" in err  # it says which styles the test split does hold


def test_musicality_cli_tables_and_json(
    tmp_path: Path,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = np.random.default_rng(11)
    for i in range(3):
        _session(tmp_path / "gen" / f"sleep-{i}", "sleep", tune(rng))
    out = tmp_path / "ev"
    args = ["evaluate", str(tmp_path / "gen"), "--reference", str(dataset), "--musicality"]
    assert _main(monkeypatch, *args, "--style", "tunes", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "Musicality per goal" in printed
    result = json.loads((out / "musicality.json").read_text())
    goal = result["goals"]["sleep"]
    assert goal["styles"] == ["tunes"]
    assert goal["comparison"]["pieces"] == [3, 6]
    # the prescription's parts: melody sounds throughout, the accompaniment never
    parts = goal["texture"]["parts"]
    assert parts["melody"]["sounding_share_min"] == 1.0
    assert parts["accompaniment"]["sounding_share_mean"] == 0.0
    assert goal["targets"]["parts_sounding"] is False
    assert goal["texture"]["overlapping_melody_notes_total"] == 0
