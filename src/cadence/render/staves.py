"""The staves and the head of a score: part names, clefs, instruments and the title.

A session's tracks are named by role ("melody", "accompaniment", "bass"; see
:mod:`cadence.tokens.roles`), so such a part is named by the General MIDI instrument its
track plays; the beat layer (the drum track "beat") is the "Metronome". A track with any
other name (a chorale's "Soprano") keeps it, and a caller may name any track itself.

Each part keeps one clef for the whole score, chosen by role and register: treble for the
melody, bass for the bass, and for any other pitched part treble when its mean pitch is at
least middle C, bass otherwise (the boundary music21's ``clef.bestClef`` uses). One clef
throughout reads more easily than the changes that converting the score in runs of bars
would otherwise give.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import symusic

from cadence.render.gm_names import abbreviation, score_name

ROLES = frozenset({"melody", "accompaniment", "bass", "percussion"})  # cadence.tokens.roles
BEAT_TRACK = "beat"  # the arranger's beat layer (cadence.render.arrange.BEAT_TRACK_NAME)
METRONOME = "Metronome"
PERCUSSION = "Percussion"
MIDDLE_C = 60
TREBLE = ("G", 2)
BASS = ("F", 4)
PERCUSSION_CLEF = ("percussion", None)
GM_DRUM_CHANNEL = 10


@dataclass(frozen=True)
class Staff:
    """How one track is notated: its label (and the short one for later systems), clef as
    (sign, line), and the MIDI program and channel written in the part list."""

    track: str
    label: str
    short: str
    clef: tuple[str, int | None]
    program: int
    is_drum: bool


def clef_for(track: symusic.Track) -> tuple[str, int | None]:
    """(sign, line) of the clef for ``track``: see the module docstring."""
    if track.is_drum:
        return PERCUSSION_CLEF
    if track.name == "melody":
        return TREBLE
    if track.name == "bass":
        return BASS
    if not len(track.notes):
        return TREBLE
    return TREBLE if float(track.notes.numpy()["pitch"].mean()) >= MIDDLE_C else BASS


def staves(tracks: list[symusic.Track], part_names: Mapping[str, str] | None = None) -> list[Staff]:
    """One Staff per track, in order. ``part_names`` maps track names to labels; other
    tracks named by a role, or not at all, are labelled by their General MIDI program
    (drums: "Metronome" for the beat layer, "Percussion" otherwise), and the rest keep their
    own names. Labels that occur more than once are numbered."""
    names = dict(part_names or {})
    base = []
    for track in tracks:
        if track.name in names:
            label = names[track.name]
        elif track.is_drum and track.name == BEAT_TRACK:
            label = METRONOME
        elif track.name.strip() and track.name not in ROLES:
            label = track.name.strip()
        elif track.is_drum:
            label = PERCUSSION
        else:
            label = score_name(track.program)
        base.append(label)
    counts = Counter(base)
    seen: Counter[str] = Counter()
    out = []
    for track, label in zip(tracks, base, strict=True):
        short = abbreviation(label)
        if counts[label] > 1:
            seen[label] += 1
            label, short = f"{label} {seen[label]}", f"{short} {seen[label]}"
        out.append(
            Staff(track.name, label, short, clef_for(track), int(track.program), track.is_drum)
        )
    return out


def clef_element(clef: tuple[str, int | None]) -> ET.Element:
    el = ET.Element("clef")
    ET.SubElement(el, "sign").text = clef[0]
    if clef[1] is not None:
        ET.SubElement(el, "line").text = str(clef[1])
    return el


def set_clef(measures: list[ET.Element], clef: tuple[str, int | None]) -> None:
    """One clef, ``clef``, at the start of ``measures`` (a part's); others are removed."""
    for measure in measures:
        for attrs in measure.findall("attributes"):
            for old in attrs.findall("clef"):
                attrs.remove(old)
            if not len(attrs):
                measure.remove(attrs)
    if not measures:
        return
    first = measures[0].find("attributes")
    if first is None:
        first = ET.Element("attributes")
        measures[0].insert(0, first)
    # MusicXML order inside attributes: divisions, key, time, staves, part-symbol,
    # instruments, clef, staff-details, ...
    before = {"divisions", "key", "time", "staves", "part-symbol", "instruments"}
    at = sum(1 for el in first if el.tag in before)
    first.insert(at, clef_element(clef))


def score_part(pid: str, staff: Staff) -> ET.Element:
    """A ``<score-part>`` naming ``staff``, with one instrument on its MIDI program."""
    head = ET.Element("score-part", id=pid)
    ET.SubElement(head, "part-name").text = staff.label
    ET.SubElement(head, "part-abbreviation").text = staff.short
    iid = f"{pid}-I1"
    instrument = ET.SubElement(head, "score-instrument", id=iid)
    ET.SubElement(instrument, "instrument-name").text = staff.label
    midi = ET.SubElement(head, "midi-instrument", id=iid)
    ET.SubElement(midi, "midi-channel").text = str(GM_DRUM_CHANNEL if staff.is_drum else 1)
    ET.SubElement(midi, "midi-program").text = str(staff.program + 1)  # MusicXML counts 1-128
    return head


def name_parts(root: ET.Element, pitched: list[Staff]) -> None:
    """Relabel the parts of ``root``, rebuild their instrument lists and set their clefs.

    ``pitched`` holds the staves of the tracks that music21 made parts of (pitched tracks
    with notes, in order). Parts are matched to them in order when the numbers agree, and
    otherwise by part name (music21 names a part after its track, or after its instrument
    when the track has no name); unmatched parts are left as they are.
    """
    part_list = root.find("part-list")
    if part_list is None:
        return
    parts = {part.get("id"): part for part in root.findall("part")}
    heads = [el for el in part_list if el.tag == "score-part"]
    if len(heads) == len(pitched):
        pairs = list(zip(heads, pitched, strict=True))
    else:
        by_name = {staff.track: staff for staff in pitched}
        pairs = [(h, by_name[h.findtext("part-name") or ""]) for h in heads
                 if (h.findtext("part-name") or "") in by_name]  # fmt: skip
    for head, staff in pairs:
        pid = head.get("id") or ""
        if pid not in parts:
            continue
        at = list(part_list).index(head)
        part_list.remove(head)
        part_list.insert(at, score_part(pid, staff))
        for note in parts[pid].iter("note"):
            for ref in note.findall("instrument"):
                note.remove(ref)
        set_clef(parts[pid].findall("measure"), staff.clef)


def set_head(root: ET.Element, *, title: str | None, composer: str | None) -> None:
    """Title and composer of a score-partwise tree, replacing music21's ("Music21 Fragment",
    "Music21"); None leaves the item out.

    The title is the ``movement-title``, which Verovio prints at the top of the first page
    (and music21 reads back as the best title); a ``work-title`` beside it would be read by
    some programs as a second, subordinate title. The composer is the identification's
    ``creator``, which notation programs such as MuseScore print and Verovio does not.
    """
    for tag in ("work", "movement-number", "movement-title"):
        for el in root.findall(tag):
            root.remove(el)
    identification = root.find("identification")
    if identification is None and composer is not None:
        identification = ET.Element("identification")
        root.insert(0, identification)
    if identification is not None:
        for creator in identification.findall("creator"):
            identification.remove(creator)
        if composer is not None:
            el = ET.Element("creator", type="composer")
            el.text = composer
            identification.insert(0, el)
    if title is not None:
        el = ET.Element("movement-title")
        el.text = title
        root.insert(0, el)
