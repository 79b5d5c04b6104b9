"""Objective music metrics: pure functions ``metric(score) -> float`` on a ``symusic.Score``.

After MusPy (Dong et al. 2020, "MusPy: A toolkit for symbolic music generation", ISMIR) and
Yang & Lerch (2020, "On the evaluation of generative models in music", Neural Computing and
Applications 32; preprint 2018). A score in any time unit is accepted; it is converted to
ticks and every time below is measured in quarter notes ("beats") as float64, so values are
exact for tick scores.

Percussion: tracks with ``is_drum`` set are left out of every metric, because drum "pitches"
name instruments, not notes. The two exceptions are :func:`empty_beat_rate` and
:func:`groove_consistency`, which (as in MusPy) count every track: a drum hit fills a beat and
is part of the groove.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import symusic

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)  # natural minor
_EPS = 1e-9  # tolerance when comparing times in quarter notes


def _ticks(score: symusic.Score) -> symusic.Score:
    return score if score.ttype == symusic.TimeUnit.tick else score.to("tick")


def _notes(score: symusic.Score, *, drums: bool = False) -> dict[str, np.ndarray]:
    """Onset, end (quarter notes, float64) and pitch of the notes, sorted by onset."""
    st = _ticks(score)
    tpq = float(st.ticks_per_quarter)
    parts = [t.notes.numpy() for t in st.tracks if len(t.notes) and (drums or not t.is_drum)]
    if not parts:
        empty = np.zeros(0)
        return {"time": empty, "end": empty, "pitch": np.zeros(0, dtype=np.int64)}
    time = np.concatenate([p["time"] for p in parts]).astype(np.int64)
    dur = np.concatenate([p["duration"] for p in parts]).astype(np.int64)
    pitch = np.concatenate([p["pitch"] for p in parts]).astype(np.int64)
    order = np.lexsort((pitch, time))
    return {"time": time[order] / tpq, "end": (time + dur)[order] / tpq, "pitch": pitch[order]}


def _bar_length(score: symusic.Score) -> float:
    """Length of a bar in quarter notes under the first time signature (4/4 when none)."""
    if len(score.time_signatures):
        ts = score.time_signatures[0]
        return ts.numerator * 4.0 / ts.denominator
    return 4.0


def _bars(score: symusic.Score, end: float) -> list[tuple[float, float]]:
    """(start, length) in quarter notes of the bars up to ``end``, following meter changes."""
    st = _ticks(score)
    tpq = st.ticks_per_quarter
    changes = {0.0: 4.0}
    for ts in st.time_signatures:
        changes[ts.time / tpq] = ts.numerator * 4.0 / ts.denominator
    points = sorted(changes.items())
    bars: list[tuple[float, float]] = []
    for i, (t0, length) in enumerate(points):
        t1 = min(points[i + 1][0], end) if i + 1 < len(points) else end
        t = t0
        while t < t1 - _EPS:
            bars.append((t, length))
            t += length
    return bars


def pitch_range(score: symusic.Score) -> float:
    """Highest minus lowest MIDI pitch (semitones). Drums excluded. Empty score: 0.

    Yang & Lerch (2020), "pitch range" (PR); MusPy ``pitch_range``.
    """
    p = _notes(score)["pitch"]
    return float(p.max() - p.min()) if len(p) else 0.0


def n_pitch_classes_used(score: symusic.Score) -> float:
    """Number of distinct pitch classes (0..12). Drums excluded. Empty score: 0.

    Yang & Lerch (2020), "pitch count" per class (PC); MusPy ``n_pitch_classes_used``.
    """
    return float(len(np.unique(_notes(score)["pitch"] % 12)))


def pitch_class_entropy(score: symusic.Score) -> float:
    """Shannon entropy, in bits, of the note-count pitch-class histogram (0..log2 12).

    Drums excluded. Empty score: NaN. Wu & Yang (2020, "The Jazz Transformer on the front
    line", ISMIR); MusPy ``pitch_class_entropy``.
    """
    p = _notes(score)["pitch"]
    if not len(p):
        return math.nan
    counts = np.bincount(p % 12, minlength=12)
    prob = counts[counts > 0] / len(p)
    return float(-(prob * np.log2(prob)).sum())


def in_scale_share(score: symusic.Score, scale_pcs: Iterable[int]) -> float:
    """Share of notes whose pitch class is in ``scale_pcs`` (pitch classes 0 = C .. 11 = B).

    Counts notes, not durations. Drums excluded. Empty score: NaN. Dong et al. (2018,
    "MuseGAN", AAAI); MusPy ``pitch_in_scale_rate``.
    """
    p = _notes(score)["pitch"]
    if not len(p):
        return math.nan
    scale = np.zeros(12, dtype=bool)
    scale[[int(pc) % 12 for pc in scale_pcs]] = True
    return float(scale[p % 12].mean())


def scale_consistency(score: symusic.Score) -> float:
    """Largest :func:`in_scale_share` over the 12 major and 12 natural-minor scales.

    Drums excluded. Empty score: NaN. Mogren (2016, "C-RNN-GAN", NeurIPS Workshop on
    Constructive Machine Learning); MusPy ``scale_consistency``.
    """
    if not len(_notes(score)["pitch"]):
        return math.nan
    return max(
        in_scale_share(score, [(root + s) % 12 for s in steps])
        for steps in (MAJOR_STEPS, MINOR_STEPS)
        for root in range(12)
    )


def _active_pitches(notes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Split time at every note boundary: segment lengths and distinct pitches sounding in each.

    Exact (no grid): a pitch sounds in a segment when one of its notes covers it; two
    overlapping notes of the same pitch count once, as in a piano roll.
    """
    bounds = np.unique(np.concatenate([[0.0], notes["time"], notes["end"]]))
    if len(bounds) < 2:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    pitches, row = np.unique(notes["pitch"], return_inverse=True)
    on = np.zeros((len(pitches), len(bounds)), dtype=np.int32)
    np.add.at(on, (row, np.searchsorted(bounds, notes["time"])), 1)
    np.add.at(on, (row, np.searchsorted(bounds, notes["end"])), -1)
    count = (np.cumsum(on, axis=1)[:, :-1] > 0).sum(axis=0)
    return np.diff(bounds), count


def polyphony(score: symusic.Score) -> float:
    """Mean number of distinct pitches sounding, over the time when at least one sounds.

    Time-weighted and exact (no grid). Drums excluded. Empty score, or only zero-length
    notes: NaN. MusPy ``polyphony`` (Dong et al. 2020).
    """
    length, count = _active_pitches(_notes(score))
    sounding = length[count > 0].sum()
    return float((length * count).sum() / sounding) if sounding > 0 else math.nan


def polyphony_rate(score: symusic.Score, threshold: int = 2) -> float:
    """Share of time, from 0 to the last note's end, with more than ``threshold`` pitches on.

    The default (more than two) is MuseGAN's "polyphonicity" (Dong et al. 2018, AAAI);
    MusPy ``polyphony_rate``. Drums excluded. Empty score: NaN.
    """
    length, count = _active_pitches(_notes(score))
    total = length.sum()
    return float(length[count > threshold].sum() / total) if total > 0 else math.nan


def empty_beat_rate(score: symusic.Score) -> float:
    """Share of beats (quarter notes 0..ceil(end)) in which no note of any track sounds.

    Beat k spans [k, k+1); a note fills it when it starts before k+1 and ends after k (a
    zero-length note fills the beat it starts in). Drums count. Empty score: NaN.
    Dong et al. (2018, "Pypianoroll", ISMIR LBD); MusPy ``empty_beat_rate``, except that a
    note ending exactly on a beat line does not fill the next beat.
    """
    n = _notes(score, drums=True)
    if not len(n["time"]):
        return math.nan
    first = np.floor(n["time"] + _EPS).astype(np.int64)
    last = np.maximum(first + 1, np.ceil(n["end"] - _EPS).astype(np.int64))
    n_beats = int(last.max())
    filled = np.zeros(n_beats + 1, dtype=np.int64)
    np.add.at(filled, first, 1)
    np.add.at(filled, last, -1)
    return float((np.cumsum(filled)[:n_beats] == 0).mean())


def groove_consistency(score: symusic.Score, steps_per_bar: int | None = None) -> float:
    """1 − mean Hamming distance between onset patterns of neighbouring bars, per step.

    Each bar (length from the first time signature) is split into ``steps_per_bar`` steps
    (default: sixteenth notes); G_i is its binary onset vector, onsets rounded to the nearest
    step. groove = 1 − Σ d(G_i, G_{i+1}) / (steps · (T − 1)) over the T bars up to the last
    note's end. Drums count. Fewer than two bars (or an empty score): NaN. Wu & Yang (2020,
    "The Jazz Transformer on the front line", ISMIR); MusPy ``groove_consistency``, except
    that a piece ending on a bar line gets no extra empty bar.
    """
    n = _notes(score, drums=True)
    bar = _bar_length(score)
    steps = steps_per_bar or round(bar * 4)
    if steps < 1:
        raise ValueError(f"groove_consistency: steps_per_bar must be >= 1, got {steps_per_bar}")
    if not len(n["time"]):
        return math.nan
    n_bars = max(1, math.ceil(n["end"].max() / bar - _EPS))
    if n_bars < 2:
        return math.nan
    pos = np.rint(n["time"] / bar * steps).astype(np.int64)
    patterns = np.zeros((n_bars + 1, steps), dtype=bool)
    patterns[pos // steps, pos % steps] = True
    patterns = patterns[:n_bars]
    distance = np.count_nonzero(patterns[:-1] != patterns[1:])
    return float(1.0 - distance / (steps * (n_bars - 1)))


def _distinct_iois(score: symusic.Score) -> tuple[np.ndarray, int]:
    """Gaps in ticks between consecutive distinct onsets of pitched notes, and the tpq."""
    st = _ticks(score)
    ticks = [t.notes.numpy()["time"] for t in st.tracks if len(t.notes) and not t.is_drum]
    onsets = np.unique(np.concatenate([*ticks, np.zeros(0)]).astype(np.int64))
    return np.diff(onsets), st.ticks_per_quarter


def ioi_mean(score: symusic.Score) -> float:
    """Mean inter-onset interval, in beats, between consecutive distinct onsets.

    Chord notes share one onset. Drums excluded. Fewer than two distinct onsets: NaN.
    Yang & Lerch (2020), "inter-onset interval" (IOI).
    """
    ioi, tpq = _distinct_iois(score)
    return float(ioi.mean() / tpq) if len(ioi) else math.nan


def ioi_std(score: symusic.Score) -> float:
    """Population standard deviation of the inter-onset intervals of :func:`ioi_mean` (beats).

    Drums excluded. Fewer than two distinct onsets: NaN. Yang & Lerch (2020), IOI.
    """
    ioi, tpq = _distinct_iois(score)
    return float(ioi.std() / tpq) if len(ioi) else math.nan


def note_density(score: symusic.Score) -> float:
    """Notes per beat: number of notes / beats from 0 to the last note's end.

    Drums excluded. Empty score (or only zero-length notes at time 0): NaN. Yang & Lerch
    (2020), "note count" (NC) normalised by length.
    """
    n = _notes(score)
    end = float(n["end"].max()) if len(n["end"]) else 0.0
    return len(n["time"]) / end if end > 0 else math.nan


def repeated_material_share(score: symusic.Score) -> float:
    """Share of non-empty bars whose pitch/onset pattern repeats an earlier bar's.

    A bar's pattern is the set of (onset within the bar, pitch − lowest pitch in the bar) of
    the notes starting in it, so a transposed repeat counts; durations and velocities are
    ignored. Bars follow the score's time signatures. Bars without notes are left out of
    both counts. Drums excluded. No pitched note: NaN. A self-similarity measure in the
    spirit of Yang & Lerch (2020) and of the repetition structure studied by Dai, Jin, Gomes
    & Dannenberg (2021, "Controllable deep melody generation via hierarchical music
    structure representation", ISMIR).
    """
    n = _notes(score)
    if not len(n["time"]):
        return math.nan
    seen: set[tuple[tuple[float, int], ...]] = set()
    repeated = non_empty = 0
    for start, length in _bars(score, float(n["time"].max()) + _EPS * 2):
        sel = (n["time"] >= start - _EPS) & (n["time"] < start + length - _EPS)
        if not sel.any():
            continue
        low = int(n["pitch"][sel].min())
        pattern = tuple(
            sorted(
                (round(float(t - start), 6), int(p) - low)
                for t, p in zip(n["time"][sel], n["pitch"][sel], strict=True)
            )
        )
        non_empty += 1
        repeated += pattern in seen
        seen.add(pattern)
    return repeated / non_empty
