"""Harmony features: chord tones on strong beats, consonance of simultaneities, chord vocabulary.

Chords are estimated from the *other parts* (every pitched track but the melody; ``parts.py``)
per harmonic window: each half bar in meters with an even number of beats, each bar
otherwise (3/4, 9/8). In a window, every other-part note sounding in it adds its overlap
(in ticks) to its pitch class; the chord is the major or minor triad whose three pitch
classes carry the most weight (ties: the heavier root, then the lower pitch class). A window
whose other parts sound fewer than two pitch classes holds no chord. This is the template
method of Fujishima 1999 ("Realtime chord recognition of musical sound", ICMC) on symbolic
durations, with the 24 triads only.

So a score without other parts (a bare melody, such as a dataset decoded from melody-only
tokens) has no chords: :func:`chord_tone_share`, :func:`chord_vocabulary` and
:func:`chord_entropy` return NaN for it.
"""

from __future__ import annotations

import math

import numpy as np
import symusic

from cadence.evaluation.musicality.parts import (
    MELODY,
    Notes,
    bar_ticks,
    beat_ticks,
    grid_tolerance,
    n_bars,
    other_notes,
    part_notes,
    pitched_notes,
    strong_positions,
)

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Interval classes counted consonant: unison/octave, thirds, fourth, fifth, sixths. The
# fourth is dissonant only against the bass in common-practice voice leading (Aldwell &
# Schachter, "Harmony and Voice Leading", ch. 1); voices are not told apart here.
CONSONANT = frozenset({0, 3, 4, 5, 7, 8, 9})


def _triads() -> list[tuple[str, tuple[int, int, int]]]:
    out = []
    for root in range(12):
        out.append((NAMES[root], (root, (root + 4) % 12, (root + 7) % 12)))
        out.append((NAMES[root] + "m", (root, (root + 3) % 12, (root + 7) % 12)))
    return out


TRIADS = _triads()


def windows(score: symusic.Score) -> list[tuple[float, float]]:
    """(start, end) ticks of the harmonic windows over the piece's bars (see module doc)."""
    bar = bar_ticks(score)
    beats = round(bar / beat_ticks(score))
    parts = 2 if beats % 2 == 0 else 1
    return [
        (b * bar + k * bar / parts, b * bar + (k + 1) * bar / parts)
        for b in range(n_bars(score))
        for k in range(parts)
    ]


def _profile(notes: Notes, start: float, end: float) -> np.ndarray:
    overlap = np.minimum(notes.end, end) - np.maximum(notes.time, start)
    keep = overlap > 0
    return np.bincount(notes.pitch[keep] % 12, weights=overlap[keep], minlength=12)[:12]


def _best_triad(profile: np.ndarray) -> tuple[str, tuple[int, int, int]] | None:
    if np.count_nonzero(profile) < 2:
        return None
    total = float(profile.sum())
    return max(
        TRIADS,
        key=lambda t: (round(float(profile[list(t[1])].sum()) / total, 9), profile[t[1][0]]),
    )


def window_chords(score: symusic.Score) -> list[tuple[str, tuple[int, int, int]] | None]:
    """The estimated triad (label, pitch classes) of every harmonic window, or None."""
    notes = other_notes(score, MELODY)
    if not len(notes):
        return [None for _ in windows(score)]
    return [_best_triad(_profile(notes, s, e)) for s, e in windows(score)]


def chord_labels(score: symusic.Score) -> list[str]:
    """Labels ("C", "Am", ...) of the windows that hold a chord, in time order."""
    return [c[0] for c in window_chords(score) if c is not None]


def chord_tone_share(score: symusic.Score) -> float:
    """Share of strong-beat melody notes whose pitch class belongs to the window's chord.

    Strong beats: ``parts.strong_positions`` (the downbeat; also the half bar in 4/4 and
    12/8). A melody note counts if its onset is on a strong beat and its window holds a chord;
    notes held over a strong beat are not counted. NaN when no such note exists, which
    includes every score without other parts. After the chord-tone ratio of melody
    harmonisation studies (e.g. Yeh et al. 2021, "Automatic melody harmonization with
    triad chords", J. New Music Research, CTnCTR).
    """
    melody = part_notes(score, MELODY)
    if not len(melody):
        return math.nan
    chords = window_chords(score)
    bar = bar_ticks(score)
    tol = grid_tolerance(score)
    wins = windows(score)
    starts = np.array([w[0] for w in wins])
    hits = []
    strong = strong_positions(score)
    for time, pitch in zip(melody.time.tolist(), melody.pitch.tolist(), strict=True):
        pos = time % bar
        if not any(abs(pos - s) <= tol or abs(pos - s - bar) <= tol for s in strong):
            continue
        w = int(np.searchsorted(starts, time + tol, side="right") - 1)
        if 0 <= w < len(chords) and chords[w] is not None:
            hits.append(pitch % 12 in chords[w][1])
    return float(np.mean(hits)) if hits else math.nan


def consonance(score: symusic.Score) -> float:
    """Share of consonant pitch pairs among the notes sounding at each onset, all parts.

    At every distinct onset of any pitched note, the distinct pitches sounding then (started
    at or before it, not yet ended) form all their pairs; a pair is consonant if its interval
    class is in ``CONSONANT``. Pairs are pooled over the onsets. NaN when no onset has two
    distinct pitches sounding (a monophonic melody alone). A simple form of the consonance
    measures of symbolic-music evaluation, e.g. the pitch consonance score (PCS) of Yeh et al.
    2021 (melody against chord), here over all parts and pairs.
    """
    notes = pitched_notes(score)
    if len(notes) < 2:
        return math.nan
    consonant = total = 0
    ends = notes.end
    for t in np.unique(notes.time):
        upto = int(np.searchsorted(notes.time, t, side="right"))
        pitches = np.unique(notes.pitch[:upto][ends[:upto] > t])
        if len(pitches) < 2:
            continue
        i, j = np.triu_indices(len(pitches), k=1)
        classes = np.abs(pitches[i] - pitches[j]) % 12
        consonant += int(np.isin(classes, list(CONSONANT)).sum())
        total += len(classes)
    return consonant / total if total else math.nan


def chord_vocabulary(score: symusic.Score) -> float:
    """Number of distinct chords (triad labels) over the score's harmonic windows.

    NaN when no window holds a chord (no other parts). Comparable between scores of equal
    length only, so the benchmark applies it to excerpts of equal bar counts. After the chord
    coverage (CC) of Yeh et al. 2021.
    """
    labels = chord_labels(score)
    return float(len(set(labels))) if labels else math.nan


def chord_entropy(score: symusic.Score) -> float:
    """Shannon entropy (bits) of the chord labels over the windows that hold a chord.

    One chord throughout gives 0.0; NaN when no window holds a chord. Yeh et al. 2021
    (chord histogram entropy, CHE).
    """
    labels = chord_labels(score)
    if not labels:
        return math.nan
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: never -0.0
