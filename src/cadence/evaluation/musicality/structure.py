"""Structure features over whole pieces: repetition at phrase lags, and distinct phrases.

They read the melody (the track named "melody") bar by bar, bars from tick 0 in the first
time signature (``parts.py``). A phrase here is four bars, from bar 0: the common phrase
length of the folk and dance tunes in the reference corpora (and a 4-bar hypermeter).
Together the two answer whether a session loops (few distinct phrases, high repetition) or
wanders (every phrase new, no repetition), against real pieces.
"""

from __future__ import annotations

import math

import numpy as np
import symusic

from cadence.evaluation.musicality.parts import MELODY, bar_index, bar_ticks, n_bars, part_notes

PHRASE_BARS = 4
POSITION_QUANTUM = 1 / 12  # quarters: onsets compared on this grid (holds triplets)
FIVE_MINUTES_S = 300.0


def bar_contents(score: symusic.Score) -> list[frozenset[tuple[int, int]]]:
    """Per bar of the piece: the melody's (onset position, pitch) pairs, positions in
    ``POSITION_QUANTUM`` quarter notes from the bar's start."""
    notes = part_notes(score, MELODY)
    total = n_bars(score)
    out: list[set[tuple[int, int]]] = [set() for _ in range(total)]
    bars = bar_index(score, notes.time)
    quantum = score.ticks_per_quarter * POSITION_QUANTUM
    pos = np.rint((notes.time - bars * bar_ticks(score)) / quantum).astype(int)
    for b, p, pitch in zip(bars.tolist(), pos.tolist(), notes.pitch.tolist(), strict=True):
        if 0 <= b < total:
            out[b].add((p, pitch))
    return [frozenset(s) for s in out]


def repetition_at_lag(score: symusic.Score, lag: int) -> float:
    """Mean similarity of melody bar i to bar i + ``lag``, over the pairs with a note in
    either bar.

    Similarity is the Jaccard index of the two bars' (onset position, pitch) sets: 1.0 for a
    literal repeat, 0.0 for nothing in common. Lags of 4 and 8 bars test repetition at the
    phrase. NaN when no pair is left (a melody shorter than ``lag`` + 1 bars, or none). After
    the self-similarity measures of structure analysis (Foote 1999, "Visualizing music and
    audio using self-similarity", ACM Multimedia) and MusPy's repetition statistics.
    """
    bars = bar_contents(score)
    sims = [len(a & b) / len(a | b) for a, b in zip(bars, bars[lag:], strict=False) if a or b]
    return float(np.mean(sims)) if sims else math.nan


def phrases(score: symusic.Score) -> list[tuple[tuple[int, int], ...]]:
    """The melody's 4-bar phrases that hold notes, each transposition-invariant: the sorted
    (onset position from the phrase start, pitch minus the phrase's first pitch) pairs."""
    notes = part_notes(score, MELODY)
    total = n_bars(score)
    if not len(notes):
        return []
    span = bar_ticks(score) * PHRASE_BARS
    quantum = score.ticks_per_quarter * POSITION_QUANTUM
    index = np.floor(notes.time / span + 1e-9).astype(int)
    out = []
    for k in range(math.ceil(total / PHRASE_BARS)):
        mask = index == k
        if not mask.any():
            continue
        time, pitch = notes.time[mask], notes.pitch[mask]
        pos = np.rint((time - k * span) / quantum).astype(int)
        out.append(tuple(sorted(zip(pos.tolist(), (pitch - pitch[0]).tolist(), strict=True))))
    return out


def distinct_phrases(score: symusic.Score) -> int:
    """Number of distinct 4-bar melody phrases (exactly equal up to transposition). 0 for no
    melody."""
    return len(set(phrases(score)))


def distinct_phrase_share(score: symusic.Score) -> float:
    """Distinct phrases over all phrases that hold notes, in 0..1: 1.0 when no phrase comes
    back (a piece that wanders), small when a few phrases loop. NaN with no melody.

    Unlike a count, the share does not grow with the length of the piece, so 5-minute
    sessions and 30-second tunes compare.
    """
    found = phrases(score)
    return len(set(found)) / len(found) if found else math.nan


def duration_seconds(score: symusic.Score) -> float:
    """Length in seconds, from the score's tempo map (120 BPM without one), to its last
    note's end (drums included: they sound)."""
    return float(score.to("second").end())


def distinct_phrases_per_5min(score: symusic.Score) -> float:
    """Distinct 4-bar melody phrases per 5 minutes of music: ``distinct_phrases`` × 300 s /
    the piece's duration.

    A figure for sessions (5–30 minutes), read with ``distinct_phrase_share``; for a short
    tune it extrapolates its phrase rate, and it depends on the tempo, so the benchmark
    reports it but does not compare its distribution with real tunes. NaN for a score of
    zero duration.
    """
    seconds = duration_seconds(score)
    if seconds <= 0:
        return math.nan
    return distinct_phrases(score) * FIVE_MINUTES_S / seconds
