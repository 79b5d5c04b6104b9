"""What the model learns from a piece: its melody, monophonic, and per-bar controls.

The model composes the melody; the arrangement (``render/texture.py``) writes the other parts
from the plan's chords. So a normalised piece (roles assigned, in C major / A minor) becomes:

- its melody track made monophonic: at each onset the highest note is kept (the "skyline"),
  and a note still sounding when the next one starts is cut there (Uitdenbogerd & Zobel 1999,
  "Melodic matching techniques for large music databases", ACM Multimedia, found the skyline
  the best simple melody extraction);
- per bar: the melody's onsets per quarter note and mean pitch, and the chord of each half
  bar, estimated from every pitched part (``music.harmony``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from cadence.music import features as feat
from cadence.music.harmony import window_chords
from cadence.tokens.controls import TRIPLE_METERS

MELODY = "melody"


@dataclass(frozen=True)
class BarControls:
    density: float  # melody onsets per quarter note
    mean_pitch: float  # NaN when the melody rests all bar
    chords: tuple[str, str]  # first and second half of the bar


def monophonic(notes: symusic.core.NoteTickList) -> list[tuple[int, int, int]]:
    """(time, duration, pitch) of a monophonic line: the highest note per onset, each note cut
    where the next begins."""
    arr = notes.numpy()
    if len(arr["time"]) == 0:
        return []
    order = np.lexsort((-arr["pitch"], arr["time"]))
    time, dur, pitch = arr["time"][order], arr["duration"][order], arr["pitch"][order]
    first = np.ones(len(time), dtype=bool)
    first[1:] = time[1:] != time[:-1]
    time, dur, pitch = time[first], dur[first], pitch[first]
    nxt = np.append(time[1:], np.iinfo(np.int64).max)
    dur = np.maximum(1, np.minimum(dur, nxt - time))
    return list(zip(time.tolist(), dur.tolist(), pitch.tolist(), strict=True))


def melody_score(score: symusic.Score) -> symusic.Score:
    """A copy of ``score`` (ticks) holding only its melody track, monophonic (empty if none)."""
    out = score.copy()
    tracks = [t for t in out.tracks if t.name == MELODY and not t.is_drum]
    line = symusic.Track(MELODY, 0, False)
    for t in tracks[:1]:
        for time, dur, pitch in monophonic(t.notes):
            line.notes.append(symusic.Note(time, dur, pitch, 90))
    out.tracks = [line] if len(line.notes) else []
    return out


def _half_windows(bars: list[tuple[float, float]], meter: str) -> list[tuple[float, float]]:
    windows = []
    for start, length in bars:
        if meter in TRIPLE_METERS:
            windows += [(start, start + length), (start, start + length)]
        else:
            mid = start + length / 2
            windows += [(start, mid), (mid, start + length)]
    return windows


def bar_controls(score: symusic.Score, melody: symusic.Score) -> list[BarControls]:
    """Controls of every bar of ``score`` (bars follow its time signatures); ``melody`` is
    :func:`melody_score` of it."""
    notes = feat.note_arrays(score, pitched_only=True)
    end = float((notes["time"] + notes["duration"]).max()) if len(notes["time"]) else 0.0
    bars = feat.bar_starts(score, end)
    if not bars:
        return []
    num, den = feat.meter_of(score)
    windows = _half_windows(bars, f"{num}/{den}")
    chords = window_chords(notes["time"], notes["duration"], notes["pitch"], windows)
    line = feat.note_arrays(melody)
    starts = np.array([b[0] for b in bars])
    idx = np.clip(np.searchsorted(starts, line["time"] + 1e-9, side="right") - 1, 0, None)
    counts = np.bincount(idx, minlength=len(bars)).astype(float)[: len(bars)]
    sums = np.bincount(idx, weights=line["pitch"], minlength=len(bars))[: len(bars)]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pitch = sums / counts
    return [
        BarControls(
            density=round(float(counts[i] / length), 4),
            mean_pitch=round(float(mean_pitch[i]), 3),
            chords=(chords[2 * i], chords[2 * i + 1]),
        )
        for i, (_, length) in enumerate(bars)
    ]
