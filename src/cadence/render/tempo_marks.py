"""Tempo marks a reader can follow: few, in whole BPM, with *rit.* and *accel.* for ramps.

A session plan moves the tempo by fractions of a BPM per bar (the iso principle), and the
MIDI file keeps that exact map. Printing every change gives a mark in nearly every bar
(♩ = 71.92, 71.83, ...), so the notation shows a mark only

- at the first bar and at each section start the caller names, and
- where the tempo has moved by at least :data:`MARK_STEP_BPM` since the last mark,

rounded to whole BPM (half up), with the words *rit.* (slowing) or *accel.* (speeding) at
the first bar of a ramp. Every bar whose tempo changes still carries the exact tempo as an
invisible ``<sound tempo>``, so MusicXML playback follows the same map as the MIDI file.

A bar's tempo is the tempo in force at its first tick; a change inside a bar is shown from
the next bar on (the arranger only changes tempo on bar lines).
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import symusic

MARK_STEP_BPM = 1.0  # a change this large since the last mark earns a new mark
# MIDI stores tempo as whole microseconds per quarter: at 200 BPM one microsecond is
# 7e-4 BPM, so differences below this are rounding, not tempo changes.
TEMPO_TOLERANCE_BPM = 1e-3
# A ramp that pauses for fewer bars than this (one four-bar unit) goes on; a longer plateau
# ends it, and the next change starts a new ramp with its own words. Engineering choice.
PLATEAU_BARS = 4
RIT = "rit."
ACCEL = "accel."


@dataclass(frozen=True)
class TempoMark:
    """What the notation prints at the start of bar ``bar`` (0-based): a metronome mark of
    ``bpm`` whole quarter notes per minute (None: none) and words (None: none)."""

    bar: int
    bpm: int | None
    words: str | None


def bar_starts(score: symusic.Score) -> list[int]:
    """First tick of every bar up to the end of ``score`` (in ticks), following its time
    signatures (4/4 when it has none); at least one bar."""
    sigs = sorted(score.time_signatures, key=lambda s: s.time)
    meters = [(s.time, s.numerator, s.denominator) for s in sigs] or [(0, 4, 4)]
    end = max(1, score.end())
    starts: list[int] = []
    tick = 0
    for k, (_, num, den) in enumerate(meters):
        length = max(1, round(score.ticks_per_quarter * num * 4 / den))
        stop = meters[k + 1][0] if k + 1 < len(meters) else end
        while tick < stop or not starts:
            starts.append(tick)
            tick += length
    return starts


def bar_tempos(score: symusic.Score, starts: Sequence[int]) -> list[float]:
    """Tempo (quarter notes per minute) in force at each bar start; 120 before any event."""
    events = sorted(score.tempos, key=lambda t: t.time)
    times = np.array([t.time for t in events], dtype=np.int64)
    qpm = [float(t.qpm) for t in events]
    idx = np.searchsorted(times, np.asarray(starts, dtype=np.int64), side="right") - 1
    return [qpm[i] if i >= 0 else 120.0 for i in idx]


def whole_bpm(bpm: float) -> int:
    """``bpm`` rounded to a whole number, halves up (71.5 -> 72, 72.5 -> 73)."""
    return math.floor(bpm + 0.5)


def _directions(tempos: Sequence[float]) -> list[int]:
    """-1, 0 or +1 per bar: the sign of the change from the bar before (0 for bar 0)."""
    out = [0]
    for before, now in itertools.pairwise(tempos):
        delta = now - before
        out.append(0 if abs(delta) < TEMPO_TOLERANCE_BPM else (1 if delta > 0 else -1))
    return out


def _ramp_words(directions: Sequence[int]) -> dict[int, str]:
    """Bar -> "rit."/"accel." where a ramp starts: a change that the next change (within
    :data:`PLATEAU_BARS` bars) continues in the same direction, after a plateau of at least
    :data:`PLATEAU_BARS` bars or a change the other way. A lone jump is no ramp."""
    changes = [(i, d) for i, d in enumerate(directions) if d]
    words: dict[int, str] = {}
    for k, (bar, d) in enumerate(changes):
        prev = changes[k - 1] if k else None
        nxt = changes[k + 1] if k + 1 < len(changes) else None
        continues_prev = prev is not None and prev[1] == d and bar - prev[0] <= PLATEAU_BARS
        continued = nxt is not None and nxt[1] == d and nxt[0] - bar <= PLATEAU_BARS
        if continued and not continues_prev:
            words[bar] = RIT if d < 0 else ACCEL
    return words


def choose_marks(tempos: Sequence[float], sections: Iterable[int] = ()) -> list[TempoMark]:
    """The marks for bars of tempo ``tempos`` (one per bar) with sections starting at the
    bar indices ``sections`` (0-based; indices past the last bar are ignored).

    Bar 0 and every section start get a metronome mark; so does every bar whose tempo is at
    least :data:`MARK_STEP_BPM` (less :data:`TEMPO_TOLERANCE_BPM`) from the tempo at the
    last mark and reads as another whole number. An empty ``tempos`` gives no marks. Raises
    ValueError for a negative section.
    """
    starts = set()
    for bar in sections:
        if bar < 0:
            raise ValueError(f"sections: bar indices must be >= 0, got {bar}")
        starts.add(int(bar))
    words = _ramp_words(_directions(tempos))
    marks = []
    last: float | None = None
    shown: int | None = None
    for i, bpm in enumerate(tempos):
        changed = last is not None and abs(bpm - last) >= MARK_STEP_BPM - TEMPO_TOLERANCE_BPM
        # a change that rounds to the number already printed would print it twice
        show = last is None or i in starts or (changed and whole_bpm(bpm) != shown)
        if show:
            last, shown = bpm, whole_bpm(bpm)
        if show or i in words:
            marks.append(TempoMark(i, whole_bpm(bpm) if show else None, words.get(i)))
    return marks


def _is_tempo(el: ET.Element) -> bool:
    """Whether ``el`` (a measure's child) is a tempo: a ``<sound tempo>`` or a direction
    holding a metronome mark or one."""
    if el.tag == "sound":
        return "tempo" in el.attrib
    return el.tag == "direction" and (
        el.find("direction-type/metronome") is not None or el.find("sound[@tempo]") is not None
    )


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _metronome(bpm: int, exact: float) -> ET.Element:
    direction = ET.Element("direction", placement="above")
    kind = ET.SubElement(direction, "direction-type")
    mark = ET.SubElement(kind, "metronome", parentheses="no")
    ET.SubElement(mark, "beat-unit").text = "quarter"
    ET.SubElement(mark, "per-minute").text = str(bpm)
    ET.SubElement(direction, "sound", tempo=_number(exact))
    return direction


def _words(text: str) -> ET.Element:
    direction = ET.Element("direction", placement="above")
    kind = ET.SubElement(direction, "direction-type")
    ET.SubElement(kind, "words", {"font-style": "italic"}).text = text
    return direction


def write_marks(
    measures: Sequence[ET.Element], tempos: Sequence[float], sections: Iterable[int] = ()
) -> int:
    """Put the tempo of bars ``tempos`` into ``measures`` (the top part's, one per bar) and
    return the number of metronome marks written.

    Existing tempo directions and ``<sound tempo>`` elements are removed first. The marks of
    :func:`choose_marks` become directions; any other bar whose tempo changes gets a bare
    ``<sound tempo>`` (heard in playback, not printed). Bars past ``measures`` are dropped.
    """
    for measure in measures:
        for el in list(measure):
            if _is_tempo(el):
                measure.remove(el)
    tempos = list(tempos)[: len(measures)]
    marks = {m.bar: m for m in choose_marks(tempos, sections)}
    changes = {i for i, d in enumerate(_directions(tempos)) if d}
    written = 0
    for i, measure in enumerate(measures):
        new: list[ET.Element] = []
        mark = marks.get(i)
        if mark is not None and mark.bpm is not None:
            new.append(_metronome(mark.bpm, tempos[i]))
            written += 1
        elif i in changes:
            new.append(ET.Element("sound", tempo=_number(tempos[i])))
        if mark is not None and mark.words is not None:
            new.append(_words(mark.words))
        at = 1 if len(measure) and measure[0].tag == "attributes" else 0
        for k, el in enumerate(new):
            measure.insert(at + k, el)
    return written
