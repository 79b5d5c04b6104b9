"""Melody features: steps, leaps, contour, range, interval entropy and monophony.

The melody is the track named "melody" (``parts.py``). Interval features read it as a line:
at an onset carrying several notes only the highest is kept (the skyline; Uitdenbogerd &
Zobel 1999, "Melodic matching techniques for large music databases", ACM Multimedia), and
the intervals are the signed semitone differences between consecutive onsets.

Repeated notes (interval 0) are counted apart, in :func:`repeat_share`; step, leap and contour
features are over the *moving* intervals only, so a melody's repeated notes change neither
its step share nor its leap share. Interval sizes follow the usual melodic classes (Huron
2006, "Sweet Anticipation", ch. 5: most melodic intervals are steps of one or two semitones;
leaps larger than a fifth are rare and tend to be followed by a step back).
"""

from __future__ import annotations

import math

import numpy as np
import symusic

from cadence.evaluation.musicality.parts import MELODY, Notes, part_notes

STEP_MAX = 2  # semitones: a step is a minor or major second
LEAP_MIN = 8  # semitones: a leap here is larger than a perfect fifth (7)
INTERVAL_CLIP = 12  # larger intervals share the ±octave bin in the entropy


def _line(notes: Notes) -> np.ndarray:
    """Pitches of the skyline: the highest note of each distinct onset, in time order."""
    if not len(notes):
        return np.zeros(0, dtype=np.int64)
    last = np.ones(len(notes), dtype=bool)  # notes are sorted by (time, pitch)
    last[:-1] = notes.time[1:] != notes.time[:-1]
    return notes.pitch[last]


def intervals(score: symusic.Score) -> np.ndarray:
    """Signed semitone intervals between consecutive onsets of the melody line (may be empty)."""
    return np.diff(_line(part_notes(score, MELODY)))


def _moving(score: symusic.Score) -> np.ndarray:
    d = intervals(score)
    return d[d != 0]


def step_share(score: symusic.Score) -> float:
    """Share of the moving melodic intervals (repeats excluded) that are steps, |i| <= 2.

    A C major scale gives 1.0. NaN with no moving interval (fewer than two distinct pitches in
    a row, an empty or one-note melody). Yang & Lerch 2020 (pitch-interval histogram); the
    step/leap classes: Huron 2006, ch. 5.
    """
    d = _moving(score)
    return float(np.mean(np.abs(d) <= STEP_MAX)) if len(d) else math.nan


def leap_share(score: symusic.Score) -> float:
    """Share of the moving melodic intervals (repeats excluded) larger than a fifth, |i| >= 8.

    NaN with no moving interval. Issue 15 measured 28% in sessions against 4% in real
    Nottingham melodies. Source as :func:`step_share`.
    """
    d = _moving(score)
    return float(np.mean(np.abs(d) >= LEAP_MIN)) if len(d) else math.nan


def repeat_share(score: symusic.Score) -> float:
    """Share of all melodic intervals that repeat the pitch (interval 0).

    NaN with fewer than two melody onsets.
    """
    d = intervals(score)
    return float(np.mean(d == 0)) if len(d) else math.nan


def contour_changes(score: symusic.Score) -> float:
    """Changes of melodic direction (up to down or down to up, repeats skipped) per melody
    onset, in 0..1.

    A scale gives 0.0; a zigzag of alternating steps approaches 1.0. NaN with an empty
    melody. After the contour measures of Müllensiefen 2009 (FANTASTIC, "step contour").
    """
    line = _line(part_notes(score, MELODY))
    if not len(line):
        return math.nan
    sign = np.sign(np.diff(line))
    sign = sign[sign != 0]
    return float(np.count_nonzero(sign[1:] != sign[:-1]) / len(line))


def pitch_range(score: symusic.Score) -> float:
    """Highest minus lowest melody pitch, in semitones (0.0 for one note; NaN with no melody).

    Yang & Lerch 2020, PR (pitch range), here of the melody only.
    """
    notes = part_notes(score, MELODY)
    if not len(notes):
        return math.nan
    return float(notes.pitch.max() - notes.pitch.min())


def interval_entropy(score: symusic.Score) -> float:
    """Shannon entropy (bits) of the signed melodic intervals, clipped to ±12 (repeats
    included as interval 0).

    A C major scale (five whole and two half steps) gives 0.8631 bits. NaN with fewer than
    two melody onsets. Yang & Lerch 2020 (pitch-interval histogram, PI); entropy as in their
    pitch-class entropy.
    """
    d = np.clip(intervals(score), -INTERVAL_CLIP, INTERVAL_CLIP)
    if not len(d):
        return math.nan
    _, counts = np.unique(d, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: never -0.0


def overlapping_notes(score: symusic.Score) -> int:
    """Number of melody notes that start before an earlier melody note has ended.

    The monophony check: every note whose onset lies strictly inside a note that began
    earlier (or at the same tick, a chord) is counted once, however many notes it lies under;
    a note that starts exactly where the previous one ends does not overlap. So two
    overlapping notes count 1, and one long note with five notes starting under it counts 5.
    0 for an empty or one-note melody. (Issue 15 counted 145 in a 10-minute session.)
    """
    notes = part_notes(score, MELODY)
    if len(notes) < 2:
        return 0
    running_end = np.maximum.accumulate(notes.end)
    return int(np.count_nonzero(notes.time[1:] < running_end[:-1]))


def overlap_share(score: symusic.Score) -> float:
    """:func:`overlapping_notes` per melody note, in 0..1 (NaN with no melody): the rate that
    excerpts of different lengths can share."""
    n = len(part_notes(score, MELODY))
    return overlapping_notes(score) / n if n else math.nan
