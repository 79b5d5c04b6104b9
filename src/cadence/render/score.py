"""Score out: MusicXML through music21 and an SVG engraving of the first pages through Verovio.

music21 writes the notes; the rest of what a reader needs is written here on the MusicXML
tree: the title (:func:`session_title` for a session), part names by instrument and one
clef per part (:mod:`cadence.render.staves`), a few tempo marks in whole BPM with *rit.*
and *accel.* (:mod:`cadence.render.tempo_marks`), and the beat layer as a one-line
"Metronome" staff (:mod:`cadence.render.metronome`). Timing is quantised by music21's MIDI
reader to the nearest sixteenth note or eighth-note triplet (its default
``quarterLengthDivisors`` (4, 3)).
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

import music21
import symusic
import verovio

from cadence.render import metronome, notation, staves, tempo_marks
from cadence.render.midi import with_conductor_track

XML_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE score-partwise PUBLIC '
    '"-//Recordare//DTD MusicXML 4.0 Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">\n'
)

QUARTER_DIVISORS = (4, 3)  # sixteenths and eighth-note triplets
MEASURES_PER_PAGE = 30  # an upper bound (about 15 fit an A4 page with three staves)
PAGE_OPTIONS = {
    "pageWidth": 2100,  # A4 in tenths of a millimetre
    "pageHeight": 2970,
    "scale": 40,
    "footer": "none",
    # Every system shows every staff, with its label: Verovio's default condensing drops
    # silent staves, and their labels with them, from the systems after the first page.
    "condense": "none",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def to_stream(score: symusic.Score) -> music21.stream.Score:
    """A music21 Score of the pitched tracks of ``score`` (tempo, meter and key kept)."""
    pitched = with_conductor_track(score)
    pitched.tracks = [t for t in pitched.tracks if not t.is_drum]
    mf = music21.midi.MidiFile()
    mf.readstr(pitched.dumps_midi())
    return music21.midi.translate.midiFileToStream(
        mf, quantizePost=True, quarterLengthDivisors=QUARTER_DIVISORS
    )


def session_title(goal: str, minutes: float, day: datetime.date) -> str:
    """The title of a session's score, e.g. "Sleep — 10 minutes — 3 December 2026" (English
    month names whatever the locale)."""
    unit = "minute" if minutes == 1 else "minutes"
    date = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{goal.capitalize()} — {minutes:g} {unit} — {date}"


def to_musicxml(
    score: symusic.Score,
    path: str | Path,
    *,
    title: str | None = None,
    composer: str | None = None,
    part_names: Mapping[str, str] | None = None,
    sections: Iterable[int] | None = None,
) -> Path:
    """Write ``score`` as MusicXML (score-partwise) to ``path``; returns the path.

    - ``title``: printed at the top of the first page (None: no title); ``composer``: the
      MusicXML creator, which notation programs show (None: none).
    - ``part_names``: staff labels by track name; other tracks are labelled by their
      General MIDI program, the beat layer (drum track "beat") as "Metronome".
    - ``sections``: bar indices (0-based) where sections start; each gets a tempo mark.
      Other marks appear only where the tempo moved by 1 BPM since the last one
      (:func:`cadence.render.tempo_marks.choose_marks`).

    music21's MIDI reader already splits notes at bar lines (with ties); only durations
    that no single note value can show are split here, and the writer is told not to redo
    the rest of the notation, which halves the time on long pieces. Long scores (one meter,
    uniquely named tracks) are converted in runs of bars and joined (see
    :mod:`cadence.render.notation`), which keeps the time proportional to the length.
    Drum tracks on the beat grid become one-line staves; other drum tracks are left out.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if score.ttype != symusic.TimeUnit.tick:
        score = score.to(symusic.TimeUnit.tick)
    notes = score.copy()
    notes.tempos = []  # music21 would write a mark per change: tempo_marks writes them
    root = _in_runs(notes)
    if root is None:
        root = _at_once(notes)
    staves.set_head(root, title=title, composer=composer)
    _add_staves(root, score, part_names)
    top = root.find("part")
    if top is not None:
        starts = tempo_marks.bar_starts(score)
        tempos = tempo_marks.bar_tempos(score, starts)
        tempo_marks.write_marks(top.findall("measure"), tempos, sections or ())
    ET.indent(root, space="  ")
    path.write_text(XML_HEAD + ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")
    return path


def _at_once(score: symusic.Score) -> ET.Element:
    """The MusicXML tree of ``score`` from one music21 conversion."""
    stream = to_stream(score)
    exporter = music21.musicxml.m21ToXml.GeneralObjectExporter(stream)
    if all(part.hasMeasures() for part in stream.parts):
        stream.splitAtDurations(recurse=True)  # e.g. 2.25 quarters -> tied half + 16th
        exporter.makeNotation = False
    return ET.fromstring(exporter.parse())


def _add_staves(
    root: ET.Element, score: symusic.Score, part_names: Mapping[str, str] | None
) -> None:
    """Name the pitched parts and set their clefs. With one meter, also pad every part with
    whole-bar rests to the score's length (music21 ends a part at its last note, and
    Verovio drops a part that has run out of measures from the later systems, its label
    with it) and add a staff for each drum track on the beat grid."""
    pitched = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    drums = [t for t in score.tracks if t.is_drum and len(t.notes)]
    labels = staves.staves([*pitched, *drums], part_names)
    staves.name_parts(root, labels[: len(pitched)])
    part_list = root.find("part-list")
    if len(score.time_signatures) > 1 or part_list is None:
        return
    ts = score.time_signatures[0] if len(score.time_signatures) else None
    meter = (ts.numerator, ts.denominator) if ts is not None else (4, 4)
    bar = round(score.ticks_per_quarter * meter[0] * 4 / meter[1])
    parts = root.findall("part")
    n_bars = max([notation.bar_count(score, bar)] + [len(p.findall("measure")) for p in parts])
    divisions = music21.defaults.divisionsPerQuarter
    for part in parts:
        for k in range(len(part.findall("measure")), n_bars):
            rest = notation.rest_measure(meter[0] * 4 / meter[1], divisions)
            rest.set("number", str(k + 1))
            part.append(rest)
    for k, (staff, track) in enumerate(zip(labels[len(pitched) :], drums, strict=True)):
        grid = metronome.beat_grid(track, score.ticks_per_quarter, meter, n_bars)
        if grid is None:
            continue
        pid = f"PB{k + 1}"
        part_list.append(staves.score_part(pid, staff))
        part = ET.SubElement(root, "part", id=pid)
        part.extend(metronome.staff_measures(grid, meter, divisions))


def _in_runs(score: symusic.Score) -> ET.Element | None:
    """The MusicXML tree built run by run, or None where one conversion is needed (short
    pieces, meter changes, tracks sharing a name, or music21 not making measures)."""
    if score.ttype != symusic.TimeUnit.tick:
        score = score.to(symusic.TimeUnit.tick)
    names = [t.name for t in score.tracks if not t.is_drum and len(t.notes)]
    if len(score.time_signatures) != 1 or len(set(names)) != len(names) or not names:
        return None
    ts = score.time_signatures[0]
    meter = (ts.numerator, ts.denominator)
    bar = round(score.ticks_per_quarter * meter[0] * 4 / meter[1])
    n_bars = notation.bar_count(score, bar)
    if n_bars < notation.CHUNK_BARS * 3 // 2:
        return None
    cuts = notation.pick_cuts(score, bar, n_bars)
    bars = [b - a for a, b in zip(cuts, [*cuts[1:], n_bars], strict=True)]
    docs = []
    for start, n in zip(cuts, bars, strict=True):
        stream = to_stream(notation.cut_bars(score, start * bar, (start + n) * bar))
        if not all(part.hasMeasures() for part in stream.parts):
            return None
        stream.splitAtDurations(recurse=True)
        docs.append(notation.chunk_xml(stream))
    ks = score.key_signatures[0] if len(score.key_signatures) else None
    key = (ks.key, ks.tonality) if ks is not None else (0, 0)
    return notation.join(docs, names, bars, meter=meter, key=key)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def first_measures(musicxml: str, n: int) -> tuple[str, bool]:
    """``musicxml`` (score-partwise text) cut to its first ``n`` measures in every part.

    Returns the text and whether anything was cut. Text that is not score-partwise is
    returned unchanged.
    """
    root = ET.fromstring(musicxml)
    if _local(root.tag) != "score-partwise":
        return musicxml, False
    cut = False
    for part in (el for el in root if _local(el.tag) == "part"):
        measures = [el for el in part if _local(el.tag) == "measure"]
        for measure in measures[n:]:
            part.remove(measure)
            cut = True
    if not cut:
        return musicxml, False
    return ET.tostring(root, encoding="unicode"), True


def _stack_pages(pages: list[str]) -> str:
    """One SVG document holding Verovio's page SVGs one below the other."""
    sizes = []
    for page in pages:
        match = re.search(r'<svg[^>]*?width="([\d.]+)px"[^>]*?height="([\d.]+)px"', page)
        if match is None:
            raise ValueError("verovio page SVG without width/height in px")
        sizes.append((float(match[1]), float(match[2])))
    width = max(w for w, _ in sizes)
    body, y = [], 0.0
    for page, (_, h) in zip(pages, sizes, strict=True):
        page = re.sub(r"^\s*<\?xml[^>]*>\s*", "", page)
        body.append(page.replace("<svg ", f'<svg x="0" y="{y:g}" ', 1))
        y += h
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:g}px" height="{y:g}px" viewBox="0 0 {width:g} {y:g}">\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


def to_svg(musicxml_path: str | Path, svg_path: str | Path, max_pages: int = 2) -> Path:
    """Engrave the first ``max_pages`` pages (A4) of a MusicXML file into one SVG file.

    Long pieces are cut to ``max_pages × MEASURES_PER_PAGE`` measures before Verovio reads
    them, so the time does not grow with the piece. Raises ValueError when ``max_pages`` is
    below 1 or Verovio cannot read the file.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages: must be at least 1, got {max_pages}")
    text = Path(musicxml_path).read_text(encoding="utf-8")
    text, _ = first_measures(text, max_pages * MEASURES_PER_PAGE)
    verovio.enableLog(verovio.LOG_ERROR)  # engraving notes such as ignored ties are not errors
    # Verovio's default font path is kept per thread and is wrong in threads other than the
    # one that imported it first (web job workers): point it at the package's data first.
    verovio.setDefaultResourcePath(str(Path(verovio.__file__).parent / "data"))
    toolkit = verovio.toolkit()
    toolkit.setOptions(PAGE_OPTIONS)
    if not toolkit.loadData(text):
        raise ValueError(f"verovio could not read {musicxml_path}")
    n_pages = min(max_pages, toolkit.getPageCount())
    pages = [toolkit.renderToSVG(i) for i in range(1, n_pages + 1)]
    svg_path = Path(svg_path)
    svg_path.parent.mkdir(parents=True, exist_ok=True)
    svg_path.write_text(_stack_pages(pages), encoding="utf-8")
    return svg_path
