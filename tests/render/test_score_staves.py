"""What a reader sees around the notes: the title, part names by General MIDI instrument,
one clef per part by role and register, and the beat layer as a Metronome staff."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import symusic

from cadence.render import score

TPQ = 480


def _session(meter: tuple[int, int] = (4, 4), n_bars: int = 4, chords: int = 52) -> symusic.Score:
    """An arranged session: harp melody, string chords around pitch ``chords``, acoustic
    bass, and a beat layer with the first beat of each bar louder."""
    num, den = meter
    beat = TPQ * 4 // den
    bar = beat * num
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, 100.0))
    s.time_signatures.append(symusic.TimeSignature(0, num, den))
    melody = symusic.Track("melody", 46, False)
    accompaniment = symusic.Track("accompaniment", 48, False)
    bass = symusic.Track("bass", 32, False)
    drums = symusic.Track("beat", 0, True)
    for b in range(n_bars):
        for k in range(num):
            melody.notes.append(symusic.Note(b * bar + k * beat, beat, 67 + (b + k) % 5, 80))
            key, velocity = (75, 90) if k == 0 else (37, 54)
            drums.notes.append(symusic.Note(b * bar + k * beat, TPQ // 4, key, velocity))
        for p in (chords - 4, chords, chords + 3):
            accompaniment.notes.append(symusic.Note(b * bar, bar, p, 60))
        bass.notes.append(symusic.Note(b * bar, bar, 36, 70))
    s.tracks.extend([melody, accompaniment, bass, drums])
    return s


def _root(s: symusic.Score, path: Path, **kwargs: object) -> ET.Element:
    return ET.parse(score.to_musicxml(s, path, **kwargs)).getroot()  # type: ignore[arg-type]


def _names(root: ET.Element) -> list[str]:
    return [head.findtext("part-name") or "" for head in root.iter("score-part")]


def _clefs(part: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(c.findtext("sign"), c.findtext("line")) for c in part.iter("clef")]


def test_title_names_goal_length_and_date(tmp_path: Path) -> None:
    title = score.session_title("sleep", 10, datetime.date(2026, 12, 3))
    assert title == "Sleep — 10 minutes — 3 December 2026"
    root = _root(_session(), tmp_path / "t.musicxml", title=title, composer="Cadence")
    assert root.findtext("movement-title") == title
    assert root.findtext("identification/creator[@type='composer']") == "Cadence"
    text = (tmp_path / "t.musicxml").read_text(encoding="utf-8")
    assert "Music21" not in text  # neither music21's title nor its composer
    svg = score.to_svg(tmp_path / "t.musicxml", tmp_path / "t.svg").read_text(encoding="utf-8")
    assert title in svg  # Verovio prints it at the top of the page


def test_session_title_units() -> None:
    day = datetime.date(2027, 1, 9)
    assert score.session_title("gait", 1, day) == "Gait — 1 minute — 9 January 2027"
    assert score.session_title("pain", 2.5, day) == "Pain — 2.5 minutes — 9 January 2027"


def test_parts_are_named_by_general_midi_program(tmp_path: Path) -> None:
    root = _root(_session(), tmp_path / "n.musicxml")
    assert _names(root) == ["Harp", "String Ensemble", "Acoustic Bass", "Metronome"]
    programs = [p.text for p in root.iter("midi-program")]
    assert programs == ["47", "49", "33", "1"]  # MusicXML counts programs from 1
    assert [c.text for c in root.iter("midi-channel")][-1] == "10"


def test_caller_names_and_repeated_instruments_are_numbered(tmp_path: Path) -> None:
    s = _session()
    s.tracks[0].program = 0
    s.tracks[1].program = 0
    root = _root(s, tmp_path / "r.musicxml", part_names={"bass": "Double bass"})
    assert _names(root) == ["Piano 1", "Piano 2", "Double bass", "Metronome"]
    shorts = [h.findtext("part-abbreviation") for h in root.iter("score-part")]
    assert shorts == ["Pno. 1", "Pno. 2", "Double bass", "Metr."]


def test_tracks_with_their_own_names_keep_them(tmp_path: Path) -> None:
    s = _session()
    s.tracks[0].name, s.tracks[1].name = "Soprano", ""  # a chorale voice; an unnamed track
    root = _root(s, tmp_path / "k.musicxml")
    assert _names(root) == ["Soprano", "String Ensemble", "Acoustic Bass", "Metronome"]


@pytest.mark.parametrize(
    ("chords", "accompaniment_clef"), [(52, ("F", "4")), (67, ("G", "2"))], ids=["low", "high"]
)
def test_one_clef_per_part_by_role_and_register(
    chords: int, accompaniment_clef: tuple[str, str], tmp_path: Path
) -> None:
    s = _session(chords=chords)
    s.tracks[2].notes = [symusic.Note(0, 4 * TPQ, 64, 70)]  # a high bass stays in bass clef
    melody, accompaniment, bass, beat = _root(s, tmp_path / "c.musicxml").findall("part")
    assert _clefs(melody) == [("G", "2")]
    assert _clefs(accompaniment) == [accompaniment_clef]
    assert _clefs(bass) == [("F", "4")]
    assert _clefs(beat) == [("percussion", None)]


@pytest.mark.parametrize("meter", [(4, 4), (6, 8)], ids=["4-4", "6-8"])
def test_beat_layer_is_a_one_line_metronome_staff(meter: tuple[int, int], tmp_path: Path) -> None:
    s = _session(meter, n_bars=3)
    s.tracks[0].notes = s.tracks[0].notes[: meter[0]]  # the melody stops after one bar
    parts = _root(s, tmp_path / "m.musicxml").findall("part")
    beat = parts[-1]
    assert beat.findtext("measure/attributes/staff-details/staff-lines") == "1"
    measures = beat.findall("measure")
    assert len(measures) == 3 and all(len(p.findall("measure")) == 3 for p in parts)
    beat_type = {4: "quarter", 8: "eighth"}[meter[1]]
    for measure in measures:
        notes = measure.findall("note")
        assert [n.findtext("type") for n in notes] == [beat_type] * meter[0]
        accents = [n.find("notations/articulations/accent") is not None for n in notes]
        assert accents == [True] + [False] * (meter[0] - 1)
        assert all(n.find("unpitched") is not None for n in notes)


def test_every_part_runs_to_the_last_bar(tmp_path: Path) -> None:
    """A part that falls silent early still has a measure per bar, so the engraving keeps
    its staff (and label) on every system."""
    s = _session(n_bars=6)
    s.tracks = s.tracks[:3]  # no beat layer
    s.tracks[2].notes = s.tracks[2].notes[:1]  # the bass plays in the first bar only
    parts = _root(s, tmp_path / "e.musicxml").findall("part")
    assert [len(p.findall("measure")) for p in parts] == [6, 6, 6]
    numbers = [m.get("number") for m in parts[2].findall("measure")]
    assert numbers == ["1", "2", "3", "4", "5", "6"]


def test_drums_off_the_beat_grid_are_left_out(tmp_path: Path) -> None:
    s = _session()
    s.tracks[3].notes.append(symusic.Note(TPQ // 2, TPQ // 4, 42, 60))  # an offbeat hi-hat
    root = _root(s, tmp_path / "o.musicxml")
    assert _names(root) == ["Harp", "String Ensemble", "Acoustic Bass"]
