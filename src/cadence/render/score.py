"""Score out: MusicXML through music21 and an SVG engraving of the first pages through Verovio.

The percussion (beat) layer is a metronome, not part of the composition, so drum tracks are
left out of the notated score. Timing is quantised by music21's MIDI reader to the nearest
sixteenth note or eighth-note triplet (its default ``quarterLengthDivisors`` (4, 3)).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import music21
import symusic
import verovio

from cadence.render import notation
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
}


def to_stream(score: symusic.Score) -> music21.stream.Score:
    """A music21 Score of the pitched tracks of ``score`` (tempo, meter and key kept)."""
    pitched = with_conductor_track(score)
    pitched.tracks = [t for t in pitched.tracks if not t.is_drum]
    mf = music21.midi.MidiFile()
    mf.readstr(pitched.dumps_midi())
    return music21.midi.translate.midiFileToStream(
        mf, quantizePost=True, quarterLengthDivisors=QUARTER_DIVISORS
    )


def to_musicxml(score: symusic.Score, path: str | Path) -> Path:
    """Write the pitched parts of ``score`` as MusicXML (score-partwise) to ``path``.

    music21's MIDI reader already splits notes at bar lines (with ties); only durations
    that no single note value can show are split here, and the writer is told not to redo
    the rest of the notation, which halves the time on long pieces.
    Long scores (one meter, uniquely named tracks) are converted in runs of bars and joined
    (see :mod:`cadence.render.notation`), which keeps the time proportional to the length.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = _in_runs(score)
    if root is None:
        stream = to_stream(score)
        if all(part.hasMeasures() for part in stream.parts):
            stream.splitAtDurations(recurse=True)  # e.g. 2.25 quarters -> tied half + 16th
            stream.write("musicxml", fp=str(path), makeNotation=False)
        else:
            stream.write("musicxml", fp=str(path))
        return path
    ET.indent(root, space="  ")
    path.write_text(XML_HEAD + ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")
    return path


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
