"""Long scores to MusicXML in runs of bars, joined: same notes, one measure per bar."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import music21
import pytest
import symusic

from cadence.render import notation, score

TPQ = 480
BAR = 4 * TPQ


def _long_piece(bars: int = 130) -> symusic.Score:
    """Melody every bar; chords that cross bar lines except every 10th; a bass part that is
    silent in bars 40-99 (so whole runs have no notes for it)."""
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, 80.0))
    s.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    s.key_signatures.append(symusic.KeySignature(0, 1, 0))  # G major
    melody = symusic.Track("melody", 0, False)
    chords = symusic.Track("accompaniment", 48, False)
    bass = symusic.Track("bass", 32, False)
    for b in range(bars):
        for k in range(4):
            melody.notes.append(symusic.Note(b * BAR + k * TPQ, TPQ, 67 + (b + k) % 5, 80))
        if b % 10 != 9:  # held from beat 3 into the next bar
            chords.notes.append(symusic.Note(b * BAR + 2 * TPQ, 4 * TPQ, 55, 60))
        if not 40 <= b < 100:
            bass.notes.append(symusic.Note(b * BAR, 2 * TPQ, 43, 70))
    s.tracks.extend([melody, chords, bass])
    return s


def test_cuts_go_on_bar_lines_no_note_crosses() -> None:
    piece = _long_piece()
    cuts = notation.pick_cuts(piece, BAR, 130)
    assert cuts[0] == 0 and len(cuts) >= 2
    assert all(c % 10 == 0 for c in cuts[1:])  # only bar 10k follows a bar without a held chord
    assert all(
        b - a >= notation.CHUNK_BARS - notation.SEARCH_BARS for a, b in itertools.pairwise(cuts)
    )


def test_cut_bars_clips_at_the_end_and_keeps_key_and_tempo() -> None:
    part = notation.cut_bars(_long_piece(), 5 * BAR, 8 * BAR)
    assert part.key_signatures[0].key == 1 and part.tempos[0].time == 0
    chords = part.tracks[1].notes
    assert chords[-1].time + chords[-1].duration == 3 * BAR  # clipped at the run's end


def _notes(path: Path) -> list[tuple[str, float, float]]:
    parsed = music21.converter.parse(str(path))
    out = []
    for part in parsed.parts:
        for n in part.stripTies().recurse().notes:
            for p in n.pitches:
                out.append((part.partName, float(n.getOffsetInHierarchy(part)), p.midi))
    return sorted(out)


@pytest.fixture(scope="module")
def long_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return score.to_musicxml(_long_piece(), tmp_path_factory.mktemp("xml") / "long.musicxml")


def test_joined_musicxml_has_a_measure_per_bar_in_every_part(long_xml: Path) -> None:
    parsed = music21.converter.parse(str(long_xml))
    assert [p.partName for p in parsed.parts] == ["Piano", "String Ensemble", "Acoustic Bass"]
    for part in parsed.parts:
        measures = list(part.getElementsByClass("Measure"))
        assert [m.number for m in measures] == list(range(1, 131))
    first = parsed.parts[2].getElementsByClass("Measure")[0]
    assert first.keySignature.sharps == 1 and first.timeSignature.ratioString == "4/4"


def test_joined_musicxml_keeps_one_clef_per_part(long_xml: Path) -> None:
    """Runs converted apart would each get their own clef; the joined score has one."""
    parts = ET.parse(long_xml).getroot().findall("part")
    clefs = [[(c.findtext("sign"), c.findtext("line")) for c in p.iter("clef")] for p in parts]
    assert clefs == [[("G", "2")], [("F", "4")], [("F", "4")]]


def test_joined_musicxml_holds_the_same_notes_as_one_conversion(
    long_xml: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.musicxml"
    score.to_stream(_long_piece()).write("musicxml", fp=str(whole))
    labels = {"melody": "Piano", "accompaniment": "String Ensemble", "bass": "Acoustic Bass"}
    expected = sorted((labels[part], offset, pitch) for part, offset, pitch in _notes(whole))
    assert _notes(long_xml) == expected
