"""arrange(): programs, velocity caps, beat layer and the exact tempo map, read back from MIDI."""

from __future__ import annotations

from pathlib import Path

import pytest
import symusic
from music21 import midi as m21midi

from cadence.evaluation import adherence
from cadence.generation.plan import BarControl, ControlPlan
from cadence.render.arrange import (
    STRONG_BEAT_KEY,
    WEAK_BEAT_KEY,
    arrange,
    bar_ticks,
    key_signature,
)
from cadence.render.midi import to_midi

TPQ = 480
TEMPOS = (60.0, 60.0, 72.5, 80.0, 80.0, 66.6667)
CAPS = (70, 80, 90, 100, 60, 127)


def make_plan(meter: tuple[int, int] = (4, 4), *, beat_layer: bool = True, **kw) -> ControlPlan:
    bars = tuple(
        BarControl(tempo_bpm=t, velocity_max=c, velocity_min=1)
        for t, c in zip(TEMPOS, CAPS, strict=True)
    )
    accents = kw.pop("accents", (1.0,) + (0.5,) * (meter[0] - 1) if beat_layer else ())
    return ControlPlan(bars=bars, meter=meter, beat_layer=beat_layer, accents=accents, **kw)


def make_score(meter: tuple[int, int] = (4, 4), n_bars: int = len(TEMPOS)) -> symusic.Score:
    """Melody (one note a beat, velocity 120), accompaniment chords, bass, plus stray tempos."""
    score = symusic.Score(TPQ)
    score.tempos.extend([symusic.Tempo(0, 100.0), symusic.Tempo(TPQ // 2, 133.0)])
    score.time_signatures.append(symusic.TimeSignature(0, 2, 4))
    bar = round(TPQ * meter[0] * 4 / meter[1])
    melody = symusic.Track("melody", 0, False)
    acc = symusic.Track("accompaniment", 0, False)
    bass = symusic.Track("bass", 0, False)
    for t in range(0, n_bars * bar, TPQ):
        melody.notes.append(symusic.Note(t, TPQ, 72, 120))
    for b in range(n_bars):
        for p in (60, 64, 67):
            acc.notes.append(symusic.Note(b * bar, bar, p, 30))
        bass.notes.append(symusic.Note(b * bar, bar, 36, 100))
    score.tracks.extend([melody, acc, bass])
    return score


def written(score: symusic.Score, tmp_path: Path) -> tuple[Path, symusic.Score]:
    path = to_midi(score, tmp_path / "out.mid")
    return path, symusic.Score(str(path))


@pytest.mark.parametrize(
    "meter", [(4, 4), (3, 4), (6, 8), (2, 2)], ids=["4-4", "3-4", "6-8", "2-2"]
)
def test_tempo_map_is_exactly_the_plan(meter: tuple[int, int], tmp_path: Path) -> None:
    plan = make_plan(meter)
    path, back = written(arrange(make_score(meter), plan), tmp_path)
    bar = bar_ticks(back, meter)
    expected = [(0, 60.0), (2 * bar, 72.5), (3 * bar, 80.0), (5 * bar, 66.6667)]
    assert [t.time for t in back.tempos] == [t for t, _ in expected]
    assert [t.mspq for t in back.tempos] == [round(60e6 / q) for _, q in expected]
    assert adherence.max_tempo_deviation(path, TEMPOS, meter) == 0.0
    assert adherence.beat_onset_jitter_ms(path, meter) == 0.0
    assert [(ts.time, ts.numerator, ts.denominator) for ts in back.time_signatures] == [(0, *meter)]


def test_programs_by_role_and_drums(tmp_path: Path) -> None:
    score = make_score()
    drums = symusic.Track("percussion", 0, True)
    drums.notes.append(symusic.Note(0, 10, 42, 50))
    other = symusic.Track("strings", 41, False)
    other.notes.append(symusic.Note(0, 10, 55, 50))
    score.tracks.extend([drums, other])
    plan = make_plan(
        beat_layer=False, programs={"melody": 73, "accompaniment": 89, "bass": 33, "percussion": 25}
    )
    _, back = written(arrange(score, plan), tmp_path)
    got = {(t.name, t.is_drum): t.program for t in back.tracks}
    assert got == {
        ("melody", False): 73,
        ("accompaniment", False): 89,
        ("bass", False): 33,
        ("percussion", True): 25,
        ("strings", False): 41,
    }


def test_velocities_capped_per_bar_and_input_untouched(tmp_path: Path) -> None:
    score = make_score()
    _, back = written(arrange(score, make_plan()), tmp_path)
    bar = 4 * TPQ
    for track in back.tracks:
        for note in track.notes:
            assert note.velocity <= CAPS[note.time // bar]
    melody = next(t for t in back.tracks if t.name == "melody")
    assert [n.velocity for n in melody.notes][::4] == [min(120, c) for c in CAPS]
    acc = next(t for t in back.tracks if t.name == "accompaniment")
    assert {n.velocity for n in acc.notes} == {30}  # under every cap: unchanged
    assert {n.velocity for n in score.tracks[0].notes} == {120}  # the input is not modified
    assert len(score.tempos) == 2


def test_notes_past_the_plan_take_the_last_cap() -> None:
    score = make_score(n_bars=len(TEMPOS) + 2)
    out = arrange(score, make_plan(beat_layer=False))
    bass = next(t for t in out.tracks if t.name == "bass")
    assert [n.velocity for n in bass.notes][-3:] == [100, 100, 100]  # last cap is 127
    plan = ControlPlan(bars=(BarControl(tempo_bpm=90.0, velocity_max=50),))
    capped = arrange(make_score(n_bars=3), plan)
    assert max(n.velocity for t in capped.tracks for n in t.notes) == 50


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8)], ids=["4-4", "3-4", "6-8"])
def test_beat_layer_one_hit_per_beat(meter: tuple[int, int], tmp_path: Path) -> None:
    plan = make_plan(meter)
    path, back = written(arrange(make_score(meter), plan), tmp_path)
    drums = [t for t in back.tracks if t.is_drum]
    assert len(drums) == 1
    hits = list(drums[0].notes)
    assert len(hits) == len(plan.bars) * meter[0]
    beat = TPQ * 4 // meter[1]
    assert [h.time for h in hits] == [i * beat for i in range(len(hits))]
    for i, hit in enumerate(hits):
        bar, pos = divmod(i, meter[0])
        assert hit.velocity <= CAPS[bar]
        assert hit.pitch == (STRONG_BEAT_KEY if pos == 0 else WEAK_BEAT_KEY)
        if pos:
            assert hit.velocity < hits[bar * meter[0]].velocity
    mf = m21midi.MidiFile()
    mf.open(str(path))
    mf.read()
    mf.close()
    channels = [{e.channel for e in tr.events if e.isNoteOn()} for tr in mf.tracks]
    assert {10} in channels  # General MIDI percussion channel


def test_beat_layer_without_accents_uses_default_and_replaces_old_beat() -> None:
    score = make_score()
    old = symusic.Track("beat", 0, True)
    old.notes.append(symusic.Note(7, 10, 40, 90))
    score.tracks.append(old)
    out = arrange(score, make_plan(accents=()))
    beats = [t for t in out.tracks if t.name == "beat"]
    assert len(beats) == 1 and len(beats[0].notes) == len(TEMPOS) * 4
    assert beats[0].notes[0].velocity == CAPS[0]
    assert beats[0].notes[1].velocity == round(0.6 * CAPS[0])


def test_no_beat_layer_when_off() -> None:
    out = arrange(make_score(), make_plan(beat_layer=False))
    assert not any(t.is_drum for t in out.tracks)


@pytest.mark.parametrize(
    ("tonic", "mode", "expected"),
    [
        (0, "major", (0, 0)),
        (7, "major", (1, 0)),
        (5, "major", (-1, 0)),
        (9, "minor", (0, 1)),
        (2, "minor", (-1, 1)),
        (4, "minor", (1, 1)),
        (3, "major", (-3, 0)),
    ],
    ids=["C", "G", "F", "a", "d", "e", "Eb"],
)
def test_key_signature(tonic: int, mode: str, expected: tuple[int, int]) -> None:
    assert key_signature(tonic, mode) == expected
    out = arrange(make_score(), make_plan(key_tonic=tonic, mode=mode))
    assert [(k.key, k.tonality) for k in out.key_signatures] == [expected]
