"""Checks on a MusicXML file's numbers before music21 reads it.

music21 builds objects in proportion to some numbers in a file: one accidental per fifth of a
key signature, accent weights for every beat of a meter. A corrupt file with ``<fifths>``
99999999 or ``<beats>`` 99999999 kept it busy for minutes (found by fuzzing;
tests/reliability). These fields are read first with the standard library's streaming XML
parser, and absurd values are refused with a reason.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError, iterparse

from cadence.music.formats import UnreadableMusic

# A key signature has at most 7 sharps or flats; theoretical keys (e.g. G# major, 8 sharps)
# reach about 14 (engineering limit, far above any real score).
MAX_FIFTHS = 14
# The largest meter numerator (the same limit as for ABC meters in cadence.music.io).
MAX_BEATS = 64
# MusicXML's beat-type is a power of two; 128ths are the shortest in common use.
MAX_BEAT_TYPE = 128
# MusicXML's <octave> is 0-9 (the MusicXML 4.0 octave type).
OCTAVES = range(0, 10)
_NUMBER = re.compile(r"-?\d+")


def check_musicxml(path: Path) -> None:
    """Raise :class:`UnreadableMusic` when a field holds a value music21 would choke on.

    A file that is not well-formed XML is left to music21, which refuses it with its own
    reason; a compressed ``.mxl`` is checked through its first XML member.
    """
    try:
        if path.suffix.lower() == ".mxl":
            with zipfile.ZipFile(path) as archive:
                names = [
                    n
                    for n in archive.namelist()
                    if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")
                ]
                if names:
                    with archive.open(names[0]) as stream:
                        _check_stream(stream)
            return
        with path.open("rb") as stream:
            _check_stream(stream)
    except UnreadableMusic:
        raise
    except (ParseError, LookupError, ValueError, zipfile.BadZipFile, OSError):
        return  # not well-formed (or an unknown encoding): music21 gives the reason


def _check_stream(stream: IO[bytes]) -> None:
    for _, element in iterparse(stream, events=("end",)):
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _FIELDS:
            _FIELDS[tag](element.text or "")
        element.clear()


def _integer(field: str, text: str) -> int:
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise UnreadableMusic("absurd value", f"<{field}> is {text.strip()[:20]!r}, not a number")
    return int(match.group(0))


def _fifths(text: str) -> None:
    value = _integer("fifths", text)
    if abs(value) > MAX_FIFTHS:
        raise UnreadableMusic("absurd key", f"<fifths>{value}</fifths> (at most ±{MAX_FIFTHS})")


def _beats(text: str) -> None:
    # additive meters such as "3+2" are allowed; their sum is what music21 builds
    parts = [p for p in re.split(r"[+\s]+", text.strip()) if p]
    if not parts:
        raise UnreadableMusic("absurd meter", "empty <beats>")
    total = sum(_integer("beats", p) for p in parts)
    if not 0 < total <= MAX_BEATS:
        raise UnreadableMusic("absurd meter", f"<beats>{text.strip()[:20]}</beats>")


def _beat_type(text: str) -> None:
    value = _integer("beat-type", text)
    if not 0 < value <= MAX_BEAT_TYPE:
        raise UnreadableMusic("absurd meter", f"<beat-type>{value}</beat-type>")


def _octave(text: str) -> None:
    value = _integer("octave", text)
    if value not in OCTAVES:
        raise UnreadableMusic("absurd pitch", f"<octave>{value}</octave> (MusicXML allows 0-9)")


_FIELDS = {"fifths": _fifths, "beats": _beats, "beat-type": _beat_type, "octave": _octave}
