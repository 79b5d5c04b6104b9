"""How the musicality features read a score: parts by role, the meter, bars and excerpts.

Conventions shared by every feature (``features.py`` and the modules it gathers):

- Times are ticks of the score (``symusic.Score`` in ticks); ``ticks_per_quarter`` scales them.
- Tracks are read by role, from their names: "melody", "accompaniment", "bass" (the names
  ``tokens.roles`` and the renderer give). Drum tracks, and tracks named "beat" or
  "percussion", are ignored: the beat layer is not composition. A pitched track with another
  name counts as an *other part* (not the melody) in the harmony features.
- Bars are counted from tick 0 in the score's first time signature (4/4 if it has none); the
  piece ends at the last pitched note's end.
- Beats: the denominator's note value in simple meters; the dotted quarter in compound meters
  (6/8, 9/8, 12/8), whose beat divides in three eighths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import symusic

MELODY = "melody"
ROLES = ("melody", "accompaniment", "bass")
IGNORED_NAMES = frozenset({"beat", "percussion"})
COMPOUND_NUMERATORS = frozenset({6, 9, 12})
GRID_TOLERANCE_QUARTERS = 1 / 48  # onsets this close to a grid point are on it (in quarters)


@dataclass(frozen=True)
class Notes:
    """Notes of one or more tracks as arrays (int64 ticks), sorted by onset, then pitch."""

    time: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @property
    def end(self) -> np.ndarray:
        return self.time + self.duration


def _is_composed(track: symusic.core.TrackTick) -> bool:
    return not track.is_drum and track.name.strip().lower() not in IGNORED_NAMES


def _gather(tracks: list[symusic.core.TrackTick]) -> Notes:
    arrays = [t.notes.numpy() for t in tracks if len(t.notes)]
    if not arrays:
        empty = np.zeros(0, dtype=np.int64)
        return Notes(empty, empty.copy(), empty.copy())
    time = np.concatenate([a["time"] for a in arrays]).astype(np.int64)
    dur = np.concatenate([a["duration"] for a in arrays]).astype(np.int64)
    pitch = np.concatenate([a["pitch"] for a in arrays]).astype(np.int64)
    order = np.lexsort((pitch, time))
    return Notes(time[order], dur[order], pitch[order])


def part_notes(score: symusic.Score, role: str) -> Notes:
    """All notes of the pitched tracks named ``role`` (case-insensitive); empty if none."""
    role = role.lower()
    return _gather([t for t in score.tracks if _is_composed(t) and t.name.strip().lower() == role])


def other_notes(score: symusic.Score, role: str = MELODY) -> Notes:
    """All notes of the pitched tracks not named ``role`` (the harmony around the melody)."""
    role = role.lower()
    return _gather([t for t in score.tracks if _is_composed(t) and t.name.strip().lower() != role])


def pitched_notes(score: symusic.Score) -> Notes:
    """All notes of every pitched, composed track (drums and the beat layer left out)."""
    return _gather([t for t in score.tracks if _is_composed(t)])


def part_names(score: symusic.Score) -> list[str]:
    """Names (lower case, in track order, each once) of the composed tracks that hold notes."""
    names = [t.name.strip().lower() for t in score.tracks if _is_composed(t) and len(t.notes)]
    return list(dict.fromkeys(names))


def meter(score: symusic.Score) -> tuple[int, int]:
    """Numerator and denominator of the score's first time signature; (4, 4) if none."""
    if len(score.time_signatures):
        ts = score.time_signatures[0]
        if ts.numerator > 0 and ts.denominator > 0:
            return int(ts.numerator), int(ts.denominator)
    return 4, 4


def is_compound(score: symusic.Score) -> bool:
    num, den = meter(score)
    return den == 8 and num in COMPOUND_NUMERATORS


def bar_ticks(score: symusic.Score) -> float:
    """Length of one bar in ticks, from the first time signature."""
    num, den = meter(score)
    return score.ticks_per_quarter * 4.0 * num / den


def beat_ticks(score: symusic.Score) -> float:
    """Length of one beat in ticks (a dotted quarter in compound meters)."""
    _, den = meter(score)
    if is_compound(score):
        return score.ticks_per_quarter * 1.5
    return score.ticks_per_quarter * 4.0 / den


def strong_positions(score: symusic.Score) -> tuple[float, ...]:
    """Tick offsets within the bar of the strong beats: the downbeat, and the half bar in
    meters of four or more (an even number of) beats, such as 4/4, 4/2 and 12/8."""
    beats = round(bar_ticks(score) / beat_ticks(score))
    if beats >= 4 and beats % 2 == 0:
        return (0.0, bar_ticks(score) / 2)
    return (0.0,)


def grid_tolerance(score: symusic.Score) -> float:
    return score.ticks_per_quarter * GRID_TOLERANCE_QUARTERS


def on_grid(times: np.ndarray, step: float, tolerance: float) -> np.ndarray:
    """Boolean mask: which ``times`` lie within ``tolerance`` ticks of a multiple of ``step``."""
    rem = np.mod(np.asarray(times, dtype=np.float64), step)
    return np.minimum(rem, step - rem) <= tolerance


def n_bars(score: symusic.Score) -> int:
    """Number of bars from tick 0 to the end of the last pitched note (0 without notes)."""
    notes = pitched_notes(score)
    if not len(notes):
        return 0
    return max(1, math.ceil(float(notes.end.max()) / bar_ticks(score) - 1e-9))


def bar_index(score: symusic.Score, times: np.ndarray) -> np.ndarray:
    """The bar (from 0) that each tick in ``times`` falls in."""
    return np.floor(np.asarray(times, dtype=np.float64) / bar_ticks(score) + 1e-9).astype(int)


def excerpt(score: symusic.Score, start_bar: int, bars: int) -> symusic.Score:
    """Bars ``start_bar`` .. ``start_bar + bars - 1`` of ``score`` as a new score from tick 0.

    Notes that start inside the window are kept, moved to the window's start and cut at its
    end; notes that start before it are left out. The first time signature and the tempo at
    the window's start carry over; every track (drums too) keeps its name and program.
    """
    length = bar_ticks(score)
    start, stop = round(start_bar * length), round((start_bar + bars) * length)
    out = symusic.Score(score.ticks_per_quarter)
    num, den = meter(score)
    out.time_signatures.append(symusic.TimeSignature(0, num, den))
    earlier = [t for t in score.tempos if t.time <= start]
    if earlier:
        out.tempos.append(symusic.Tempo(0, earlier[-1].qpm))
    for track in score.tracks:
        new = symusic.Track(track.name, track.program, track.is_drum)
        arr = track.notes.numpy()
        keep = (arr["time"] >= start) & (arr["time"] < stop)
        if keep.any():
            time = arr["time"][keep].astype(np.int64)
            dur = np.minimum(arr["duration"][keep].astype(np.int64), stop - time)
            new.notes = symusic.Note.from_numpy(
                (time - start).astype(np.int32),
                np.maximum(dur, 1).astype(np.int32),
                arr["pitch"][keep],
                arr["velocity"][keep],
                "tick",
            )
        out.tracks.append(new)
    return out


def excerpts(score: symusic.Score, bars: int) -> list[symusic.Score]:
    """Non-overlapping excerpts of ``bars`` bars from the start; a remainder shorter than
    ``bars`` is dropped, and a piece shorter than ``bars`` is one excerpt of itself (none
    without notes)."""
    total = n_bars(score)
    if total == 0:
        return []
    if total < bars:
        return [excerpt(score, 0, total)]
    return [excerpt(score, i * bars, bars) for i in range(total // bars)]
