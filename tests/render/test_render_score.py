"""Score out: MusicXML read back with music21, SVG engraving of the first pages, plan plot."""

from __future__ import annotations

import time
from pathlib import Path

import music21
import pytest
import symusic

from cadence.render import plot, score

TPQ = 480


def _piece(n_bars: int = 4, meter: tuple[int, int] = (4, 4)) -> symusic.Score:
    """Melody of quarter notes and a bass of whole bars, plus a drum track."""
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, 90.0))
    s.time_signatures.append(symusic.TimeSignature(0, *meter))
    beats = meter[0]
    melody = symusic.Track("melody", 0, False)
    bass = symusic.Track("bass", 32, False)
    drums = symusic.Track("beat", 0, True)
    for b in range(n_bars):
        for k in range(beats):
            t = (b * beats + k) * TPQ
            melody.notes.append(symusic.Note(t, TPQ, 60 + (b + k) % 12, 80))
            drums.notes.append(symusic.Note(t, 60, 37, 60))
        bass.notes.append(symusic.Note(b * beats * TPQ, beats * TPQ, 36 + b % 5, 70))
    s.tracks.extend([melody, bass, drums])
    return s


def _pitched_notes(path: Path) -> list[music21.note.Note]:
    parsed = music21.converter.parse(str(path))
    return [n for n in parsed.recurse().notes if isinstance(n, music21.note.Note)]


@pytest.mark.parametrize("meter", [(4, 4), (3, 4)], ids=["4-4", "3-4"])
def test_musicxml_round_trip_note_count(meter: tuple[int, int], tmp_path: Path) -> None:
    path = score.to_musicxml(_piece(4, meter), tmp_path / "p.musicxml")
    notes = _pitched_notes(path)
    assert len(notes) == 4 * meter[0] + 4  # melody + bass; the beat layer is unpitched
    parsed = music21.converter.parse(str(path))
    assert [p.partName for p in parsed.parts] == ["Piano", "Acoustic Bass", "Metronome"]
    beats = list(parsed.parts[2].recurse().getElementsByClass(music21.note.Unpitched))
    assert len(beats) == 4 * meter[0]  # one per beat
    ts = parsed.recurse().getElementsByClass(music21.meter.TimeSignature).first()
    assert (ts.numerator, ts.denominator) == meter
    assert [m.number for m in parsed.parts[0].getElementsByClass("Measure")] == [1, 2, 3, 4]


def test_musicxml_ties_notes_across_bar_lines_and_quantises(tmp_path: Path) -> None:
    s = symusic.Score(TPQ)
    s.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    t = symusic.Track("melody", 0, False)
    for start, dur, pitch in [(0, 480, 60), (480, 1440, 62), (1920, 230, 64), (2150, 250, 65)]:
        t.notes.append(symusic.Note(start, dur, pitch, 80))
    s.tracks.append(t)
    notes = _pitched_notes(score.to_musicxml(s, tmp_path / "t.musicxml"))
    assert [(n.nameWithOctave, n.quarterLength) for n in notes] == [
        ("C4", 1.0),
        ("D4", 2.0),
        ("D4", 1.0),
        ("E4", 0.5),
        ("F4", 0.5),
    ]
    assert notes[1].tie.type == "start" and notes[2].tie.type == "stop"


def test_musicxml_splits_durations_no_single_note_can_show(tmp_path: Path) -> None:
    s = symusic.Score(TPQ)
    t = symusic.Track("bass", 0, False)
    t.notes.append(symusic.Note(0, 1080, 40, 80))  # 2.25 quarters
    t.notes.append(symusic.Note(1080, 600, 43, 80))  # 1.25 quarters
    s.tracks.append(t)
    notes = _pitched_notes(score.to_musicxml(s, tmp_path / "c.musicxml"))
    assert sum(n.quarterLength for n in notes) == 3.5
    assert [n.nameWithOctave for n in notes] == ["E2", "E2", "G2", "G2"]
    assert [n.tie.type for n in notes] == ["start", "stop", "start", "stop"]


def test_svg_of_a_short_piece(tmp_path: Path) -> None:
    xml = score.to_musicxml(_piece(4), tmp_path / "p.musicxml")
    svg = score.to_svg(xml, tmp_path / "p.svg")
    text = svg.read_text()
    assert text.lstrip().startswith(("<svg", "<?xml"))
    assert text.count("Engraved by Verovio") == 1  # one page
    assert text.rstrip().endswith("</svg>")


def test_svg_of_a_long_piece_is_cut_to_the_first_pages(tmp_path: Path) -> None:
    xml = score.to_musicxml(_piece(400), tmp_path / "long.musicxml")
    start = time.perf_counter()
    svg = score.to_svg(xml, tmp_path / "long.svg", max_pages=2)
    assert time.perf_counter() - start < 10.0  # generous: about 1 s on a laptop
    assert svg.read_text().count("Engraved by Verovio") == 2  # two pages


def test_first_measures() -> None:
    text = (
        '<score-partwise><part id="P1">'
        + "".join(f'<measure number="{i}"/>' for i in range(1, 11))
        + "</part></score-partwise>"
    )
    cut, changed = score.first_measures(text, 3)
    assert changed and cut.count("<measure") == 3
    same, changed = score.first_measures(text, 30)
    assert not changed and same == text
    timewise = "<score-timewise><measure/></score-timewise>"
    assert score.first_measures(timewise, 0) == (timewise, False)


def test_svg_rejects_zero_pages(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_pages"):
        score.to_svg(tmp_path / "x.musicxml", tmp_path / "x.svg", max_pages=0)


@pytest.mark.parametrize("measured", [True, False], ids=["with-measured", "planned-only"])
def test_plan_plot_png(measured: bool, tmp_path: Path) -> None:
    n = 60
    tempo = [60 + i * 0.5 for i in range(n)]
    arousal = [-0.5 + i / n for i in range(n)]
    path = plot.plot_plan(
        tmp_path / "plan.png",
        planned_tempo=tempo,
        planned_arousal=arousal,
        measured_tempo=[t + 0.3 for t in tempo] if measured else None,
        measured_arousal=[a - 0.05 for a in arousal][: n - 5] if measured else None,
        bar_seconds=[240.0 / t for t in tempo],
    )
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000


def test_plan_plot_scalar_bar_seconds_and_bad_lengths(tmp_path: Path) -> None:
    path = plot.plot_plan(tmp_path / "a.png", [60.0, 61.0], [0.0, 0.1], bar_seconds=4.0)
    assert path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="planned_tempo"):
        plot.plot_plan(tmp_path / "b.png", [60.0], [0.0, 0.1])
    with pytest.raises(ValueError, match="measured_tempo"):
        plot.plot_plan(tmp_path / "c.png", [60.0], [0.0], measured_tempo=[60.0, 61.0])
    with pytest.raises(ValueError, match="bar_seconds"):
        plot.plot_plan(tmp_path / "d.png", [60.0, 61.0], [0.0, 0.1], bar_seconds=[4.0])


def test_svg_in_another_thread(tmp_path: Path) -> None:
    """Verovio keeps its font path per thread; a worker thread must still engrave."""
    import threading

    xml = score.to_musicxml(_piece(), tmp_path / "t.musicxml")
    errors: list[Exception] = []

    def work() -> None:
        try:
            score.to_svg(xml, tmp_path / "t.svg")
        except ValueError as err:
            errors.append(err)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not errors
    assert "<svg" in (tmp_path / "t.svg").read_text()
