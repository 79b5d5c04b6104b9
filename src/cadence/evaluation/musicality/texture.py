"""Texture features: in how many bars each part sounds, and how many notes it sounds at once.

Parts are read by track name (``parts.py``); bars run from tick 0 to the end of the last
pitched note of the whole score, so a part that stops early is seen as silent in the rest.
"""

from __future__ import annotations

import math

import numpy as np
import symusic

from cadence.evaluation.musicality.parts import Notes, bar_ticks, n_bars, part_notes


def _union_length(notes: Notes) -> float:
    """Total length in ticks of the union of the notes' time spans."""
    if not len(notes):
        return 0.0
    order = np.argsort(notes.time, kind="stable")
    start, end = notes.time[order], notes.end[order]
    reach = np.maximum.accumulate(end)
    new = np.ones(len(start), dtype=bool)
    new[1:] = start[1:] >= reach[:-1]  # a gap before this note: a new covered span
    span_id = np.cumsum(new) - 1
    span_start = start[new]
    span_end = np.zeros(len(span_start), dtype=np.int64)
    np.maximum.at(span_end, span_id, end)
    return float((span_end - span_start).sum())


def sounding_bars(score: symusic.Score, role: str) -> np.ndarray:
    """Boolean per bar of the score: does any note of ``role`` sound in it (onsets and notes
    held into the bar both count)."""
    total = n_bars(score)
    notes = part_notes(score, role)
    out = np.zeros(total, dtype=bool)
    if not len(notes) or total == 0:
        return out
    bar = bar_ticks(score)
    first = np.floor(notes.time / bar + 1e-9).astype(int)
    last = np.ceil(notes.end / bar - 1e-9).astype(int) - 1
    last = np.maximum(last, first)
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        out[max(a, 0) : min(b, total - 1) + 1] = True
    return out


def sounding_share(score: symusic.Score, role: str) -> float:
    """Share of the score's bars in which the part named ``role`` sounds, in 0..1.

    0.0 for a part that is absent or empty (a prescribed part that never plays is silent, not
    undefined); NaN for a score without any pitched note (it has no bars). The texture check
    of issue 15 (a bass sounding in 1% of the bars); after MuseGAN's per-track "empty bar"
    rate (Dong et al. 2018, EB), as its complement.
    """
    total = n_bars(score)
    if total == 0:
        return math.nan
    return float(sounding_bars(score, role).mean())


def polyphony(score: symusic.Score, role: str) -> float:
    """Mean number of notes of ``role`` sounding at once, over the time at least one sounds.

    Total note duration divided by the length of the union of the notes' spans: 1.0 for a
    monophonic line, 3.0 for sustained triads. NaN for an absent or empty part. MusPy's
    ``polyphony`` (Dong et al. 2020, "MusPy", ISMIR), per part and time-weighted.
    """
    notes = part_notes(score, role)
    covered = _union_length(notes)
    if covered == 0:
        return math.nan
    return float(notes.duration.sum() / covered)
