"""Read any supported file into Cadence's one internal score type, a symusic ``Score``.

MIDI goes through symusic directly. ABC, MusicXML and Humdrum kern go through music21 and are
converted to a symusic Score by way of music21's own MIDI writer, so both paths share one
representation (ticks, tracks, tempos, time signatures).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import music21
import symusic
from music21 import abcFormat, bar, harmony, midi, spanner, stream

from cadence.music.archives import check_archive
from cadence.music.formats import (
    ABC_SUFFIXES,
    KERN_SUFFIXES,
    MIDI_SUFFIXES,
    MUSICXML_SUFFIXES,
    UnreadableMusic,
)
from cadence.music.musicxml_checks import check_musicxml

CHORD_PART_NAME = "chords"
# The largest meter numerator read from ABC (engineering limit: folk meters stay under 16; 64
# still parses in under 0.1 s).
MAX_METER_NUMERATOR = 64
# The longest note or rest read from ABC, in unit lengths (engineering limit: 256 eighths is 32
# bars of 4/4; folk tunes stay under 16).
MAX_NOTE_LENGTH = 256
# The most end-repeats (``:|``, ``::``) read from one ABC tune (engineering limit: the
# Nottingham tunes have at most 8; music21's expansion copies the part once per repeat).
MAX_REPEATS = 16
# The most end-repeats x bars (music21 copies the part per repeat; Nottingham's largest is
# 6 x 63 = 378; a 264-bar mutant with 12 end-repeats, 3168, took 7-30 s).
MAX_REPEAT_WORK = 1500
# The most notes and rests in one bar of ABC (engineering limit: Nottingham's busiest bar has
# 14). Without a meter music21 fits a time signature to the longest bar, and building the
# accent weights of a 442/4 bar took 40 s.
MAX_NOTES_PER_BAR = 96
_BAR_LINE = re.compile(r"[|\]:]+")
_NOTE_OR_REST = re.compile(r"[A-Ga-gxz]")
_FIELD_LINE = re.compile(r"^\s*(?:[A-Za-z]:|%)")
_NOT_NOTES = re.compile(r'"[^"]*"|![^!]*!|\[[A-Za-z]:[^\]]*\]')
_NOTE_LENGTH = re.compile(r"[A-Ga-gxzZ][,']*(\d{3,})")
# Anywhere in a line: music21 also reads a meter field that follows a bar line ("A3 |M:6/8").
_METER_FIELD = re.compile(r"M:([^\]\n|]*)")


def load_midi_bytes(data: bytes) -> symusic.Score:
    """Parse MIDI bytes with symusic."""
    if not data:
        raise UnreadableMusic("empty", "zero-length file")
    return symusic.Score.from_midi(data)


def load_score(path: str | Path, *, abc_number: int | None = None) -> symusic.Score:
    """Load one piece from ``path``.

    ``abc_number`` selects one tune (its ``X:`` reference number) from an ABC file holding
    several; without it the first tune is read.

    Raises :class:`UnreadableMusic` (or one of ``formats.LOADING_ERRORS``) for bad files.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return load_midi_bytes(path.read_bytes())
    if suffix in ABC_SUFFIXES:
        text = path.read_text(encoding="utf-8", errors="replace")
        return abc_to_score(text, number=abc_number)
    if suffix in MUSICXML_SUFFIXES or suffix in KERN_SUFFIXES:
        if path.stat().st_size == 0:
            raise UnreadableMusic("empty", "zero-length file")
        if suffix == ".mxl":
            _check_container(path)
        if suffix in MUSICXML_SUFFIXES:
            check_musicxml(path)
        # Never music21's pickle cache: it would write a copy of every parsed file (a patient's
        # favourite tune) to a shared temp folder and load pickles from there (issue 17).
        parsed = music21.converter.parse(path, forceSource=True, storePickle=False)
        return stream_to_score(parsed)
    raise UnreadableMusic("unsupported format", suffix or "no suffix")


def _check_container(path: Path) -> None:
    """A compressed MusicXML file must be a sound zip archive within the unpacked-size limits
    (:func:`cadence.music.archives.check_archive`), before music21 opens it: a corrupt one makes
    zipfile and zlib raise errors that say nothing of the file, and a decompression bomb would
    fill the memory."""
    check_archive(path)


def abc_to_score(text: str, *, number: int | None = None) -> symusic.Score:
    """Parse ABC text (one tune, or tune ``number`` of several) into a symusic Score."""
    if not text.strip():
        raise UnreadableMusic("empty", "no ABC text")
    if number is None:
        numbers = abc_reference_numbers(text)
        number = numbers[0] if numbers else None
    tune = _tune_text(text, number)
    _check_meters(tune)
    _check_lengths(tune)
    music = _music_text(tune)
    _check_repeats(music)
    _check_bars(music)
    handler = abcFormat.ABCFile().readstr(text, number=number)
    parsed = abcFormat.translate.abcToStreamScore(handler)
    _close_open_repeats(parsed)
    return stream_to_score(parsed)


def _tune_text(text: str, number: int | None) -> str:
    """The lines of tune ``number`` (from its ``X:`` line to the next), or all of ``text``."""
    if number is None:
        return text
    lines, inside = [], False
    for line in text.splitlines():
        stripped = line.replace(" ", "")
        if stripped.startswith("X:"):
            digits = stripped[2:].strip()
            inside = digits.isdigit() and int(digits) == number  # "X:0001" is tune 1
        if inside:
            lines.append(line)
    return "\n".join(lines) if lines else text


def _check_meters(text: str) -> None:
    """Refuse a meter field (``M:``, ``[M:``, or ``M:`` after a bar line) whose numerator is
    absurd, as music21 reads it
    (every digit before the ``/``, joined). Building its accent weights grows about as n^3: 400
    takes 3.5 s, and a corrupt ``M:4z...9...1...6/8`` (4916) ran for minutes (found by fuzzing;
    tests/reliability)."""
    for match in _METER_FIELD.finditer(text):
        field = match.group(1)
        if "/" not in field:
            continue
        digits = "".join(c for c in field.split("/", 1)[0] if c in "0123456789")
        if digits and int(digits) > MAX_METER_NUMERATOR:
            raise UnreadableMusic("absurd meter", f"M:{field.strip()[:40]!r}")


def _check_lengths(text: str) -> None:
    """Refuse a note or rest longer than MAX_NOTE_LENGTH unit lengths (``z9999992``): music21
    partitions such a bar beat by beat, over a million objects and minutes of work (found by
    fuzzing; tests/reliability). Field lines, chord symbols and decorations are not music."""
    for line in text.splitlines():
        if _FIELD_LINE.match(line):
            continue
        for match in _NOTE_LENGTH.finditer(_NOT_NOTES.sub("", line)):
            if int(match.group(1)) > MAX_NOTE_LENGTH:
                raise UnreadableMusic("absurd note length", match.group(0)[:20])


def _music_text(tune: str) -> str:
    """The tune's music: its lines without field lines, chord symbols and decorations."""
    music = "\n".join(line for line in tune.splitlines() if not _FIELD_LINE.match(line))
    return _NOT_NOTES.sub("", music)


def _check_repeats(music: str) -> None:
    """Refuse a tune (its :func:`_music_text`) with more than MAX_REPEATS end-repeats, or more
    than MAX_REPEAT_WORK end-repeats x bars: music21 expands repeats by copying the part once
    per repeat, so such a file is slow in proportion to repeats x length (a 3 KB mutant with 40
    repeats ran past 60 s; found by fuzzing, tests/reliability)."""
    count = len(re.findall(r":\||::", music))
    if count > MAX_REPEATS:
        raise UnreadableMusic("too many repeats", f"{count} end-repeats (at most {MAX_REPEATS})")
    bars = music.count("|")
    if count * bars > MAX_REPEAT_WORK:
        raise UnreadableMusic(
            "too many repeats",
            f"{count} end-repeats of a {bars}-bar tune (at most {MAX_REPEAT_WORK} repeats x bars)",
        )


def _check_bars(music: str) -> None:
    """Refuse a bar of more than MAX_NOTES_PER_BAR notes and rests in a tune's
    :func:`_music_text` (a corrupt tune whose bar lines were lost, or a chord symbol's stray
    quote: found by fuzzing, tests/reliability)."""
    for segment in _BAR_LINE.split(music):
        count = len(_NOTE_OR_REST.findall(segment))
        if count > MAX_NOTES_PER_BAR:
            raise UnreadableMusic(
                "absurd bar", f"{count} notes in one bar (at most {MAX_NOTES_PER_BAR})"
            )


def _close_open_repeats(parsed: stream.Stream) -> None:
    """Give every end-repeat without a start-repeat since the previous end-repeat a start right
    after that previous end (ABC: ``:|`` repeats back to the last repeat or the beginning).

    music21 otherwise repeats each such ``:|`` from the very beginning, expanding the earlier
    repeats again each time: a tune in parts A-F, each ending ``:|`` (as Nottingham's
    hornpipes are written), grew 2^6-fold, e.g. a 54-bar tune into 4164 beats and 12,096 notes
    after 11 s, and a 615-byte file took 17-47 s (found by fuzzing; tests/reliability). When
    the previous end-repeat carries first/second-time brackets, the start goes after the
    bracketed measures (``[1 ... :|[2 ... ||`` then the next part); ten such parts in a row
    otherwise expanded 2^10-fold (over 30 s).
    """
    parts = parsed.parts if isinstance(parsed, stream.Score) and parsed.parts else [parsed]
    bracketed = {
        id(m)
        for b in parsed.recurse().getElementsByClass(spanner.RepeatBracket)
        for m in b.getSpannedElements()
    }
    for part in parts:
        measures = list(part.getElementsByClass(stream.Measure))
        last_end: int | None = None
        started = False
        for i, m in enumerate(measures):
            if isinstance(m.leftBarline, bar.Repeat) and m.leftBarline.direction == "start":
                started = True
            right = m.rightBarline
            if isinstance(right, bar.Repeat) and right.direction == "end":
                if not started and last_end is not None:
                    # the first measure after the previous end's first/second-time bracket
                    j = last_end + 1
                    while j < i and id(measures[j]) in bracketed:
                        j += 1
                    opener = measures[j] if j <= i else None
                    if (
                        opener is not None
                        and id(opener) not in bracketed
                        and opener.leftBarline is None
                    ):
                        opener.leftBarline = bar.Repeat(direction="start")
                last_end, started = i, False


def abc_reference_numbers(text: str) -> list[int]:
    """The ``X:`` reference numbers of the tunes in an ABC file, in order."""
    numbers = []
    for line in text.splitlines():
        stripped = line.replace(" ", "")
        if stripped.startswith("X:"):
            digits = stripped[2:].strip()
            if digits.isdigit():
                numbers.append(int(digits))
    return numbers


def stream_to_score(parsed: stream.Stream) -> symusic.Score:
    """Convert a music21 stream to a symusic Score via music21's MIDI writer.

    Chord symbols (as in ABC lead sheets such as the Nottingham tunes) are realised into a
    separate part named ``chords`` so that the accompaniment is not lost.
    """
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise UnreadableMusic("no notes", "empty opus")
        parsed = scores[0]
    _unshare_context_objects(parsed)
    chord_part = _realize_chord_symbols(parsed)
    if chord_part is not None:
        parsed.insert(0, chord_part)
    midi_file = midi.translate.streamToMidiFile(parsed)
    score = symusic.Score.from_midi(midi_file.writestr())
    if chord_part is not None and score.tracks:
        score.tracks[-1].name = CHORD_PART_NAME
    return score


def _unshare_context_objects(parsed: stream.Stream) -> None:
    """Give every measure its own meter/key/tempo objects.

    music21's ABC reader can place one TimeSignature object in several measures; its MIDI
    writer then fails ("object ... is already found in this Stream"). Copies fix that.
    """
    seen: set[int] = set()
    classes = (music21.meter.TimeSignature, music21.key.KeySignature, music21.tempo.MetronomeMark)
    for container in [parsed, *parsed.recurse(streamsOnly=True)]:
        for element in list(container.getElementsByClass(classes)):
            if id(element) in seen:
                container.replace(element, copy.deepcopy(element))
            else:
                seen.add(id(element))


def _realize_chord_symbols(parsed: stream.Stream) -> stream.Part | None:
    """Turn chord symbols into sounding chords in a new part, or None when there are none.

    The new part is a copy of the part holding the symbols (so measures, repeats and meter
    stay aligned) with its notes replaced by the realised chords.
    """
    source = parsed.parts[0] if isinstance(parsed, stream.Score) and parsed.parts else parsed
    if not any(True for _ in source.recurse().getElementsByClass(harmony.ChordSymbol)):
        return None
    harmony.realizeChordSymbolDurations(source)
    part = copy.deepcopy(source)
    part.partName = CHORD_PART_NAME
    for element in list(part.recurse().notesAndRests):
        site = element.activeSite
        if isinstance(element, harmony.ChordSymbol):
            if element.pitches and element.duration.quarterLength > 0:
                voiced = music21.chord.Chord([p.pitchClass + 48 for p in element.pitches])
                voiced.duration = music21.duration.Duration(element.duration.quarterLength)
                site.replace(element, voiced)
            else:
                site.remove(element)
        elif not isinstance(element, music21.note.Rest):
            site.replace(element, music21.note.Rest(quarterLength=element.quarterLength))
    for element in list(source.recurse().getElementsByClass(harmony.ChordSymbol)):
        element.activeSite.remove(element)
    return part
