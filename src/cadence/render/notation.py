"""Long scores to MusicXML in pieces: music21 converts runs of bars, the XML is joined.

music21's MusicXML writer looks up each measure's context (meter, key, clef) by searching
the whole stream, so its time grows faster than the piece: a 30-minute session (550 bars)
took 9–19 s in one go. Cut into runs of about :data:`CHUNK_BARS` bars it takes a few
seconds. Cuts go on bar lines that no note crosses when there is one nearby; otherwise the
notes are cut short at the bar line in the notation only (MIDI and audio keep them whole).

Joining: every part (one per pitched track, by name) gets exactly the run's number of
measures — a run where a track is silent gets whole-measure rests — measures are
renumbered, and a run's repeated attributes (divisions, key, time) are dropped, keeping a
clef change.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import music21
import numpy as np
import symusic

CHUNK_BARS = 48  # bars per run: small enough for music21's context search to stay cheap
SEARCH_BARS = 8  # how far from the nominal cut to look for a bar line no note crosses


def bar_count(score: symusic.Score, bar: int) -> int:
    """Bars that hold the score's notes (at least one)."""
    return max(1, -(-score.end() // bar))


def pick_cuts(score: symusic.Score, bar: int, n_bars: int) -> list[int]:
    """Bar indices where runs start (0 first), every :data:`CHUNK_BARS` or so, preferring
    bar lines that no pitched note sounds across."""
    ends = []
    for track in score.tracks:
        if track.is_drum or not len(track.notes):
            continue
        arr = track.notes.numpy()
        ends.append((arr["time"], arr["time"] + arr["duration"]))
    crossed = np.zeros(n_bars + 1, dtype=bool)
    for on, off in ends:
        first = on // bar + 1  # first bar line after the onset
        last = (off - 1) // bar  # last bar line before the note ends
        for a, b in zip(first[first <= last], last[first <= last], strict=True):
            crossed[a : min(b, n_bars) + 1] = True
    cuts = [0]
    nominal = CHUNK_BARS
    while nominal < n_bars - CHUNK_BARS // 2:
        window = range(max(cuts[-1] + 1, nominal - SEARCH_BARS), min(n_bars, nominal + SEARCH_BARS))
        free = [i for i in window if not crossed[i]]
        choice = min(free, key=lambda i: abs(i - nominal)) if free else nominal
        cuts.append(choice)
        nominal = choice + CHUNK_BARS
    return cuts


def cut_bars(score: symusic.Score, start: int, end: int) -> symusic.Score:
    """Ticks ``[start, end)`` of ``score`` for notation: notes starting there, cut at
    ``end``; the tempo, meter and key in force at ``start`` and changes inside."""
    out = symusic.Score(score.ticks_per_quarter)

    def inside(events: list, make) -> list:  # type: ignore[no-untyped-def]
        events = sorted(events, key=lambda e: e.time)
        before = [e for e in events if e.time <= start][-1:]
        return [make(e, max(0, e.time - start)) for e in before] + [
            make(e, e.time - start) for e in events if start < e.time < end
        ]

    out.tempos = inside(list(score.tempos), lambda e, t: _retimed_tempo(e, t))
    out.time_signatures = inside(
        list(score.time_signatures),
        lambda e, t: symusic.TimeSignature(t, e.numerator, e.denominator),
    )
    out.key_signatures = inside(
        list(score.key_signatures), lambda e, t: symusic.KeySignature(t, e.key, e.tonality)
    )
    for track in score.tracks:
        new = symusic.Track(track.name, track.program, track.is_drum)
        if len(track.notes):
            arr = track.notes.numpy()
            keep = (arr["time"] >= start) & (arr["time"] < end)
            if keep.any():
                on = arr["time"][keep]
                new.notes = symusic.Note.from_numpy(
                    on - start,
                    np.minimum(arr["duration"][keep], end - on),
                    arr["pitch"][keep],
                    arr["velocity"][keep],
                )
        out.tracks.append(new)
    return out


def _retimed_tempo(tempo: symusic.Tempo, time: int) -> symusic.Tempo:
    out = symusic.Tempo(time, tempo.qpm)
    out.mspq = tempo.mspq
    return out


def chunk_xml(stream: music21.stream.Score) -> ET.Element:
    """MusicXML (score-partwise) of a music21 Score with well-formed measures, as a tree."""
    exporter = music21.musicxml.m21ToXml.GeneralObjectExporter(stream)
    exporter.makeNotation = False
    return ET.fromstring(exporter.parse())


def rest_measure(quarters: float, divisions: int) -> ET.Element:
    """A measure of ``quarters`` quarter notes holding one whole-measure rest."""
    measure = ET.Element("measure")
    note = ET.SubElement(measure, "note")
    ET.SubElement(note, "rest", measure="yes")
    ET.SubElement(note, "duration").text = str(round(quarters * divisions))
    ET.SubElement(note, "voice").text = "1"
    return measure


def _attributes(divisions: int, meter: tuple[int, int], key: tuple[int, int]) -> ET.Element:
    attrs = ET.Element("attributes")
    ET.SubElement(attrs, "divisions").text = str(divisions)
    key_el = ET.SubElement(attrs, "key")
    ET.SubElement(key_el, "fifths").text = str(key[0])
    ET.SubElement(key_el, "mode").text = "minor" if key[1] else "major"
    time_el = ET.SubElement(attrs, "time")
    ET.SubElement(time_el, "beats").text = str(meter[0])
    ET.SubElement(time_el, "beat-type").text = str(meter[1])
    clef = ET.SubElement(attrs, "clef")
    ET.SubElement(clef, "sign").text = "G"
    ET.SubElement(clef, "line").text = "2"
    return attrs


def _clef(el: ET.Element) -> tuple[str | None, str | None]:
    return el.findtext("sign"), el.findtext("line")


def _parts(doc: ET.Element) -> dict[str, tuple[ET.Element, ET.Element]]:
    """Part name → (score-part, part) of one MusicXML document."""
    by_id = {el.get("id"): el for el in doc.iter("score-part")}
    out = {}
    for part in doc.findall("part"):
        head = by_id[part.get("id")]
        name = head.findtext("part-name") or part.get("id") or ""
        out[name] = (head, part)
    return out


def join(
    docs: list[ET.Element],
    names: list[str],
    bars: list[int],
    *,
    meter: tuple[int, int],
    key: tuple[int, int],
) -> ET.Element:
    """One score-partwise document from runs ``docs`` of ``bars[i]`` measures each. The runs'
    measures are moved into it, not copied: ``docs`` are used up."""
    divisions = music21.defaults.divisionsPerQuarter
    quarters = meter[0] * 4 / meter[1]
    runs = [_parts(doc) for doc in docs]
    out = copy.deepcopy(docs[0])
    for el in [*out.findall("part-list"), *out.findall("part")]:
        out.remove(el)
    part_list = ET.Element("part-list")
    children = list(out)
    out.insert(len(children), part_list)
    for i, name in enumerate(names):
        pid = f"P{i + 1}"
        head = next((copy.deepcopy(run[name][0]) for run in runs if name in run), None)
        if head is None:
            continue  # a track that never sounds has no staff
        head.set("id", pid)
        part_list.append(head)
        part = ET.SubElement(out, "part", id=pid)
        number = 0
        clef: tuple[str | None, str | None] | None = None
        for run, n in zip(runs, bars, strict=True):
            measures = run[name][1].findall("measure") if name in run else []
            measures = measures[:n]
            measures += [rest_measure(quarters, divisions) for _ in range(n - len(measures))]
            for j, measure in enumerate(measures):
                attrs = measure.find("attributes")
                if number == 0 and attrs is None:
                    measure.insert(0, _attributes(divisions, meter, key))
                elif number > 0 and j == 0 and attrs is not None:
                    run_clef = attrs.find("clef")
                    measure.remove(attrs)
                    if run_clef is not None and _clef(run_clef) != clef:
                        kept = ET.Element("attributes")
                        kept.append(run_clef)
                        measure.insert(0, kept)
                found = measure.find("attributes/clef")
                if found is not None:
                    clef = _clef(found)
                number += 1
                measure.set("number", str(number))
                part.append(measure)
    return out
