"""The beat layer as a one-line percussion staff: one note per beat, accents on the strong
beats.

The arranger's beat layer (gait training: rhythmic auditory stimulation) is a hit on every
beat, so it is written here directly, beat by beat, rather than through music21's MIDI
reader, which would spell each short hit as a sixteenth and rests. A beat lasts
``4 / denominator`` quarter notes, as in :func:`cadence.render.arrange.beat_layer`. A hit
is accented when it is the loudest in its bar and the bar's hits are not all equally loud.
Drum tracks with hits off the beat grid are not notated (:func:`beat_grid` returns None).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import symusic

# How far (in quarter notes) a hit may lie from its beat and still count as on it: a
# 32nd note, well above the arranger's rounding to whole ticks.
ON_BEAT_QUARTERS = 0.125
NOTE_TYPES = {1: "whole", 2: "half", 4: "quarter", 8: "eighth", 16: "16th", 32: "32nd"}
REST, HIT, ACCENT = 0, 1, 2


def beat_grid(
    track: symusic.Track, tpq: int, meter: tuple[int, int], n_bars: int
) -> np.ndarray | None:
    """(n_bars, numerator) array of REST, HIT or ACCENT per beat of ``track`` (in ticks of
    ``tpq`` per quarter), or None when a hit lies off the beat grid or past ``n_bars``, or
    the meter's beat has no note value."""
    num, den = meter
    if den not in NOTE_TYPES:
        return None
    beat = tpq * 4 / den
    grid = np.zeros((n_bars, num), dtype=np.int8)
    if not len(track.notes):
        return grid
    arr = track.notes.numpy()
    index = np.rint(arr["time"] / beat).astype(np.int64)
    if np.any(np.abs(arr["time"] - index * beat) > ON_BEAT_QUARTERS * tpq):
        return None
    if index.max() >= n_bars * num:
        return None
    flat = np.zeros(n_bars * num, dtype=np.int64)
    np.maximum.at(flat, index, arr["velocity"].astype(np.int64))  # the loudest hit per beat
    loudness = flat.reshape(n_bars, num)
    grid[loudness > 0] = HIT
    hits = np.where(loudness > 0, loudness, np.iinfo(np.int64).max)
    top = loudness.max(axis=1, keepdims=True)
    contrast = top > hits.min(axis=1, keepdims=True)
    grid[(loudness == top) & contrast & (loudness > 0)] = ACCENT
    return grid


def _note(kind: int, duration: int, note_type: str) -> ET.Element:
    note = ET.Element("note")
    if kind == REST:
        ET.SubElement(note, "rest")
    else:
        unpitched = ET.SubElement(note, "unpitched")
        ET.SubElement(unpitched, "display-step").text = "E"
        ET.SubElement(unpitched, "display-octave").text = "4"
    ET.SubElement(note, "duration").text = str(duration)
    ET.SubElement(note, "voice").text = "1"
    ET.SubElement(note, "type").text = note_type
    if kind != REST:
        ET.SubElement(note, "stem").text = "up"
        ET.SubElement(note, "notehead").text = "x"
    if kind == ACCENT:
        notations = ET.SubElement(note, "notations")
        ET.SubElement(ET.SubElement(notations, "articulations"), "accent")
    return note


def staff_measures(grid: np.ndarray, meter: tuple[int, int], divisions: int) -> list[ET.Element]:
    """One ``<measure>`` per row of ``grid`` (numbered from 1); the first opens with the
    attributes of a one-line percussion staff (``divisions`` per quarter, meter ``meter``)."""
    num, den = meter
    duration = round(divisions * 4 / den)
    note_type = NOTE_TYPES[den]
    measures = []
    for i, row in enumerate(grid):
        measure = ET.Element("measure", number=str(i + 1))
        if i == 0:
            attrs = ET.SubElement(measure, "attributes")
            ET.SubElement(attrs, "divisions").text = str(divisions)
            ET.SubElement(ET.SubElement(attrs, "key"), "fifths").text = "0"
            time = ET.SubElement(attrs, "time")
            ET.SubElement(time, "beats").text = str(num)
            ET.SubElement(time, "beat-type").text = str(den)
            ET.SubElement(ET.SubElement(attrs, "clef"), "sign").text = "percussion"
            details = ET.SubElement(attrs, "staff-details")
            ET.SubElement(details, "staff-lines").text = "1"
        if not row.any():
            rest = ET.SubElement(measure, "note")
            ET.SubElement(rest, "rest", measure="yes")
            ET.SubElement(rest, "duration").text = str(duration * num)
            ET.SubElement(rest, "voice").text = "1"
        else:
            measure.extend(_note(int(kind), duration, note_type) for kind in row)
        measures.append(measure)
    return measures
