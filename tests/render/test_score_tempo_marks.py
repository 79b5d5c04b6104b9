"""Tempo marks in the score: whole BPM, only at section starts or after a 1 BPM change,
rit./accel. where a ramp starts, the exact tempo kept for playback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import symusic

from cadence.render import score, tempo_marks
from cadence.render.tempo_marks import TempoMark, choose_marks

TPQ = 480
BAR = 4 * TPQ


def _ramp(n_bars: int, start: float, step: float) -> symusic.Score:
    """A melody of quarter notes under a tempo that moves by ``step`` BPM every bar, as the
    arranger writes it (one Tempo per bar line)."""
    s = symusic.Score(TPQ)
    s.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    melody = symusic.Track("melody", 0, False)
    for b in range(n_bars):
        s.tempos.append(symusic.Tempo(b * BAR, start + step * b))
        for k in range(4):
            melody.notes.append(symusic.Note(b * BAR + k * TPQ, TPQ, 60 + (b + k) % 7, 80))
    s.tracks.append(melody)
    return s


def _parts(path: Path) -> list[ET.Element]:
    return ET.parse(path).getroot().findall("part")


def _marks(part: ET.Element) -> list[tuple[int, str]]:
    """(measure number, per-minute text) of every metronome mark in ``part``."""
    out = []
    for measure in part.findall("measure"):
        for mark in measure.iterfind("direction/direction-type/metronome"):
            out.append((int(measure.get("number") or 0), mark.findtext("per-minute") or ""))
    return out


def _words(part: ET.Element) -> list[tuple[int, str]]:
    return [
        (int(m.get("number") or 0), w.text or "")
        for m in part.findall("measure")
        for w in m.iterfind("direction/direction-type/words")
    ]


def test_ramp_of_a_tenth_bpm_per_bar_gets_a_mark_every_ten_bars(tmp_path: Path) -> None:
    # 72.0, 71.9, ... 68.1 over 40 bars: a whole BPM is crossed at bars 10, 20 and 30.
    path = score.to_musicxml(_ramp(40, 72.0, -0.1), tmp_path / "ramp.musicxml")
    top = _parts(path)[0]
    assert _marks(top) == [(1, "72"), (11, "71"), (21, "70"), (31, "69")]
    assert _words(top) == [(2, "rit.")]  # the first slower bar
    sounds = [float(s.get("tempo") or 0) for s in top.iter("sound")]
    assert len(sounds) == 40  # every bar's exact tempo, printed or not
    assert sounds[:3] == pytest.approx([72.0, 71.9, 71.8], abs=1e-3)


def test_a_mark_at_each_section_start_restarts_the_count(tmp_path: Path) -> None:
    # Section at bar 16 (70.4 BPM, shown as 70); the next marks come 1 BPM later, at 26, 36.
    path = score.to_musicxml(
        _ramp(40, 72.0, -0.1), tmp_path / "sections.musicxml", sections=[0, 16]
    )
    assert _marks(_parts(path)[0]) == [(1, "72"), (11, "71"), (17, "70"), (27, "69"), (37, "68")]


def test_steady_tempo_has_one_mark_and_other_parts_none(tmp_path: Path) -> None:
    s = _ramp(12, 63.0, 0.0)
    s.tempos = [symusic.Tempo(0, 63.0)]
    bass = symusic.Track("bass", 32, False)
    bass.notes.append(symusic.Note(0, 4 * BAR, 40, 70))
    s.tracks.append(bass)
    melody, low = _parts(score.to_musicxml(s, tmp_path / "steady.musicxml"))
    assert _marks(melody) == [(1, "63")] and _words(melody) == []
    assert not list(low.iter("direction")) and not list(low.iter("sound"))


def test_accel_on_a_speeding_ramp_and_again_after_a_plateau() -> None:
    tempos = [100.0] * 4 + [101.0, 102.0, 103.0] + [103.0] * 6 + [104.0, 105.0]
    marks = choose_marks(tempos)
    assert [m.words for m in marks if m.words] == ["accel.", "accel."]
    assert [m.bar for m in marks if m.words] == [4, 13]
    assert [(m.bar, m.bpm) for m in marks if m.bpm is not None] == [
        (0, 100), (4, 101), (5, 102), (6, 103), (13, 104), (14, 105)
    ]  # fmt: skip


def test_a_lone_jump_is_marked_without_words_and_a_short_pause_keeps_the_ramp() -> None:
    jump = choose_marks([60.0] * 5 + [80.0] * 5)
    assert jump == [TempoMark(0, 60, None), TempoMark(5, 80, None)]
    paused = [70.0, 69.5, 69.0, 69.0, 69.0, 68.5, 68.0]  # two steady bars inside the ramp
    assert [(m.bar, m.words) for m in choose_marks(paused) if m.words] == [(1, "rit.")]


def test_rounding_is_half_up_and_bad_sections_are_refused() -> None:
    assert [tempo_marks.whole_bpm(x) for x in (71.5, 72.5, 71.49, 60.0)] == [72, 73, 71, 60]
    assert choose_marks([]) == []
    assert [m.bar for m in choose_marks([60.0] * 4, sections=[2, 99])] == [0, 2]
    with pytest.raises(ValueError, match="sections"):
        choose_marks([60.0], sections=[-1])


def test_bar_tempos_follow_meter_and_default_to_120() -> None:
    s = symusic.Score(TPQ)
    s.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    s.tempos.append(symusic.Tempo(3 * TPQ * 2, 90.0))  # from bar 2 on
    t = symusic.Track("melody", 0, False)
    t.notes.append(symusic.Note(0, 3 * TPQ * 4, 60, 80))  # four bars of 3/4
    s.tracks.append(t)
    starts = tempo_marks.bar_starts(s)
    assert starts == [0, 1440, 2880, 4320]
    assert tempo_marks.bar_tempos(s, starts) == pytest.approx([120.0, 120.0, 90.0, 90.0])
