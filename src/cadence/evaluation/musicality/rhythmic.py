"""Rhythm features of the melody: the onset grid, note values, bar-to-bar repetition, density.

Onsets are the distinct onset times of the melody track (a chord in the melody is one onset).
Bars and beats follow ``parts.py`` (bars from tick 0 in the first time signature).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import symusic

from cadence.evaluation.musicality.parts import (
    MELODY,
    bar_index,
    bar_ticks,
    beat_ticks,
    grid_tolerance,
    n_bars,
    on_grid,
    part_notes,
)

# Note values (in quarter notes) that durations are rounded to, nearest in log scale: the
# sixteenth to the whole note, dotted values and eighth/quarter triplets.
NOTE_VALUES = (0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
SHORT_BELOW = 0.5  # quarters: shorter than an eighth
LONG_FROM = 2.0  # quarters: a half note or longer
PATTERN_QUANTUM = 1 / 12  # quarters: onset positions compared on this grid (holds triplets)


def _onsets(score: symusic.Score) -> np.ndarray:
    return np.unique(part_notes(score, MELODY).time)


def grid_step(score: symusic.Score) -> float:
    """The meter's onset grid in ticks: the eighth note.

    In simple meters the eighth divides the beat in two; in compound meters (6/8, 9/8, 12/8)
    the beat is a dotted quarter divided in three eighths, so the grid is again the eighth,
    counted from each bar's start (every bar length is a whole number of eighths).
    """
    return score.ticks_per_quarter / 2


def on_grid_share(score: symusic.Score) -> float:
    """Share of the melody's onsets that lie on the meter's eighth-note grid (within 1/48 of a
    quarter note).

    Quarter notes give 1.0; sixteenths between eighths and triplets are off the grid. NaN with
    no melody. No standard metric; it is the figure issue 15 measured (79% in sessions against
    98% in real tunes).
    """
    onsets = _onsets(score)
    if not len(onsets):
        return math.nan
    return float(np.mean(on_grid(onsets, grid_step(score), grid_tolerance(score))))


def _note_value_classes(score: symusic.Score) -> np.ndarray:
    dur = part_notes(score, MELODY).duration / score.ticks_per_quarter
    if not len(dur):
        return np.zeros(0, dtype=int)
    logs = np.log(np.asarray(NOTE_VALUES))
    return np.argmin(np.abs(np.log(np.maximum(dur, 1e-6))[:, None] - logs[None, :]), axis=1)


def note_value_entropy(score: symusic.Score) -> float:
    """Shannon entropy (bits) of the melody's note values, each duration rounded (in log
    scale) to the nearest of ``NOTE_VALUES``.

    All notes of one value give 0.0. NaN with no melody. After Yang & Lerch 2020 (note length
    histogram, NLH) summarised by its entropy.
    """
    classes = _note_value_classes(score)
    if not len(classes):
        return math.nan
    _, counts = np.unique(classes, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: never -0.0


def note_value_shares(score: symusic.Score) -> dict[str, float]:
    """Shares of melody notes that are short (under an eighth), middle (an eighth up to under
    a half note) and long (a half note or longer), by written duration; the three sum to 1.

    All NaN with no melody. Yang & Lerch 2020 (note length histogram), in three coarse bins.
    """
    dur = part_notes(score, MELODY).duration / score.ticks_per_quarter
    if not len(dur):
        return {"short": math.nan, "middle": math.nan, "long": math.nan}
    short = float(np.mean(dur < SHORT_BELOW - 1e-9))
    long = float(np.mean(dur >= LONG_FROM - 1e-9))
    return {"short": short, "middle": 1.0 - short - long, "long": long}


def bar_patterns(score: symusic.Score) -> list[frozenset[int]]:
    """Per bar (from 0 to the piece's end), the melody's onset positions within the bar, in
    units of ``PATTERN_QUANTUM`` quarter notes."""
    onsets = _onsets(score)
    total = n_bars(score)
    patterns: list[set[int]] = [set() for _ in range(total)]
    quantum = score.ticks_per_quarter * PATTERN_QUANTUM
    bars = bar_index(score, onsets)
    pos = np.rint((onsets - bars * bar_ticks(score)) / quantum).astype(int)
    for b, p in zip(bars.tolist(), pos.tolist(), strict=True):
        if 0 <= b < total:
            patterns[b].add(p)
    return [frozenset(p) for p in patterns]


def rhythmic_repetition(score: symusic.Score) -> float:
    """Share of bars whose melody onset pattern equals the previous bar's.

    Over the bars 1 .. n-1; a pair of two empty bars is left out (silence repeating is not
    rhythm). NaN when no pair is left (under two bars, or no melody). After the grooving
    pattern similarity of Wu & Yang 2020 ("The Jazz Transformer on the front line", ISMIR;
    MusPy's ``groove_consistency``), which compares the onset patterns of consecutive bars by
    Hamming distance; here the comparison is exact equality.
    """
    patterns = bar_patterns(score)
    pairs = [(a, b) for a, b in itertools.pairwise(patterns) if a or b]
    if not pairs:
        return math.nan
    return float(np.mean([a == b for a, b in pairs]))


def onset_density(score: symusic.Score) -> float:
    """Melody onsets per beat over the piece's bars (empty bars included).

    NaN for a score without notes. Yang & Lerch 2020 (note count), per beat so that excerpts
    in different meters compare.
    """
    total = n_bars(score)
    if total == 0:
        return math.nan
    beats = total * bar_ticks(score) / beat_ticks(score)
    return float(len(_onsets(score)) / beats)
