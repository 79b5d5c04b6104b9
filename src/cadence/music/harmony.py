"""Chords: names, tones, and a per-window chord estimator.

A chord is a root pitch class (0 = C .. 11 = B) and a quality from :data:`QUALITIES`; its
name is ``"<root>:<quality>"`` (``"7:maj"`` is G major), and :data:`NO_CHORD` is ``"N"``.

The estimator is template matching over a duration-weighted pitch-class profile, the
classic approach of Fujishima (1999, "Realtime chord recognition of musical sound", ICMC)
applied to symbolic notes as in Pardo & Birmingham (2002, "Algorithms for chordal analysis",
Computer Music Journal 26(2)): each template scores the weight of its chord tones minus the
weight of the other pitch classes, the lowest sounding note adds weight to its pitch class
(roots are usually in the bass), and ties go to the simpler chord (triads before sevenths).
It works on note arrays, so ingest stays on symusic: music21 (``chordify``) would need
music21 streams, which read MIDI 32.8x slower than symusic (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "dom7": (0, 4, 7, 10),
}
NO_CHORD = "N"
# Extra weight of the lowest sounding note's pitch class, as a share of the window's weight
# (engineering choice: makes inversions resolve to the root the bass implies).
BASS_WEIGHT = 0.35
# A seventh chord must explain this much more than its triad to be chosen (engineering).
SEVENTH_MARGIN = 0.1


def chord_name(root: int, quality: str) -> str:
    if quality not in QUALITIES:
        raise ValueError(f"chord quality: got {quality!r}; known: {', '.join(QUALITIES)}")
    return f"{int(root) % 12}:{quality}"


def parse_chord(name: str) -> tuple[int, str] | None:
    """(root, quality) of a chord name, or None for :data:`NO_CHORD`."""
    if name == NO_CHORD:
        return None
    root, _, quality = name.partition(":")
    if quality not in QUALITIES or not root.isdigit() or not 0 <= int(root) <= 11:
        raise ValueError(f"chord name: got {name!r}; expected '<0-11>:<quality>' or 'N'")
    return int(root), quality


def chord_tones(name: str) -> frozenset[int]:
    """Pitch classes of a chord (empty for no chord)."""
    parsed = parse_chord(name)
    if parsed is None:
        return frozenset()
    root, quality = parsed
    return frozenset((root + i) % 12 for i in QUALITIES[quality])


def transpose_chord(name: str, semitones: int) -> str:
    parsed = parse_chord(name)
    if parsed is None:
        return NO_CHORD
    return chord_name(parsed[0] + semitones, parsed[1])


def all_chord_names() -> list[str]:
    """Every chord name, in a fixed order (the control-token order)."""
    return [chord_name(r, q) for q in QUALITIES for r in range(12)] + [NO_CHORD]


_NAMES = [chord_name(r, q) for q in QUALITIES for r in range(12)]
_TEMPLATES = np.array(
    [[1.0 if (pc - r) % 12 in QUALITIES[q] else 0.0 for pc in range(12)] for q in QUALITIES
     for r in range(12)]
)  # fmt: skip
_SEVENTH = np.array([len(QUALITIES[q]) > 3 for q in QUALITIES for _ in range(12)])


def estimate_chord(profile: np.ndarray, bass_pc: int | None = None) -> str:
    """The best chord for a 12-bin pitch-class weight profile; :data:`NO_CHORD` if it is empty.

    ``bass_pc``: pitch class of the lowest note, weighted by :data:`BASS_WEIGHT`.
    """
    w = np.asarray(profile, dtype=float).copy()
    total = float(w.sum())
    if total <= 0:
        return NO_CHORD
    if bass_pc is not None:
        w[int(bass_pc) % 12] += BASS_WEIGHT * total
    scores = _TEMPLATES @ w - (1.0 - _TEMPLATES) @ w
    scores = scores - np.where(_SEVENTH, SEVENTH_MARGIN * total, 0.0)
    return _NAMES[int(np.argmax(scores))]


def window_chords(
    time: np.ndarray,
    duration: np.ndarray,
    pitch: np.ndarray,
    windows: list[tuple[float, float]],
) -> list[str]:
    """The chord of each (start, end) window from the notes sounding in it (any unit of time,
    the same for notes and windows). Windows where nothing sounds carry the previous chord
    (a held harmony), or :data:`NO_CHORD` before the first."""
    out: list[str] = []
    end = time + duration
    previous = NO_CHORD
    pcs = pitch.astype(int) % 12
    for w0, w1 in windows:
        overlap = np.minimum(end, w1) - np.maximum(time, w0)
        sounding = overlap > 1e-9
        if not sounding.any():
            out.append(previous)
            continue
        profile = np.bincount(pcs[sounding], weights=overlap[sounding], minlength=12)
        bass = int(pitch[sounding].min()) % 12
        previous = estimate_chord(profile, bass)
        out.append(previous)
    return out
