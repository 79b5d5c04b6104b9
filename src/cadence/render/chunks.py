"""Render long scores in time segments, several FluidSynth processes at once, and mix them.

A synthesiser is linear: the audio of a score is the sum of the audio of its notes. So a
score cut at bar lines into segments — each segment holding the notes whose *onset* falls in
it, with their whole durations, the tempo in force and all later tempo changes — can be
rendered segment by segment and overlap-added at each segment's start time. Each segment's
render runs on past its last event (a silent marker :data:`TAIL_S` later), so releases and
reverb of notes that ring across a cut are kept. Segments render in parallel processes, and
the session pipeline starts them while the later bars are still being composed. Their audio
is streamed from FluidSynth and added into the mix block by block as it arrives: no audio
file is written and read back, and no segment is held in memory whole.

The differences from one whole-file render are FluidSynth's 64-sample event grid (events
may land up to 1.5 ms apart) and voice stealing when polyphony overflows; both are far below
what the loudness and adherence measurements can see (tested against a whole-file render).
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import symusic

from cadence.render.soundfont_fx import needs_chorus
from cadence.render.synth import render_blocks

TAIL_S = 3.0  # rendered after a segment's last event; FluidSynth adds about 2 s more
MARKER_CC = 110  # an undefined MIDI controller: a silent event that extends the render
# Default segment length: short enough to share out, long enough that FluidSynth's start-up
# (about 0.2 s to open the soundfont) stays small.
SEGMENT_S = 150.0
ROOM_S = 30.0  # mix buffer room past the expected length (FluidSynth renders past a marker)


@dataclass(frozen=True)
class Segment:
    """Ticks ``[start, end)`` of a score and where they begin in the audio, in seconds."""

    start: int
    end: int
    offset_s: float


def tick_seconds(score: symusic.Score, ticks: np.ndarray) -> np.ndarray:
    """Seconds at each tick under the score's tempo map, as a MIDI player times them.

    Uses each tempo's integer microseconds per quarter (what a MIDI file stores), so the
    figures match FluidSynth's clock. Without tempos, MIDI's default 120 BPM applies.
    """
    tpq = score.ticks_per_quarter
    tempos = sorted(score.tempos, key=lambda t: t.time)
    times = np.array([0] + [t.time for t in tempos if t.time > 0], dtype=np.float64)
    mspq = [500_000]
    for t in tempos:
        if t.time > 0:
            mspq.append(t.mspq)
        else:
            mspq[0] = t.mspq
    spt = np.array(mspq, dtype=np.float64) / 1e6 / tpq  # seconds per tick in each span
    starts_s = np.concatenate([[0.0], np.cumsum(np.diff(times) * spt[:-1])])
    ticks = np.asarray(ticks, dtype=np.float64)
    idx = np.searchsorted(times, ticks, side="right") - 1
    return starts_s[idx] + (ticks - times[idx]) * spt[idx]


def segments(score: symusic.Score, cuts: list[int]) -> list[Segment]:
    """Segments between consecutive tick positions ``cuts`` (sorted, first 0), the last open."""
    bounds = [*cuts, 2**62]
    offsets = tick_seconds(score, np.array(cuts))
    return [Segment(bounds[i], bounds[i + 1], float(offsets[i])) for i in range(len(cuts))]


def even_segments(score: symusic.Score, segment_s: float = SEGMENT_S) -> list[Segment]:
    """Segments of about ``segment_s`` seconds, cut on beats (quarter notes) of the score."""
    if segment_s <= 0:
        raise ValueError(f"segment_s: must be positive, got {segment_s}")
    tpq = score.ticks_per_quarter
    beats = np.arange(0, max(score.end(), 1) + tpq, tpq)
    seconds = tick_seconds(score, beats)
    marks = np.arange(segment_s, seconds[-1], segment_s)
    idx = np.unique(np.searchsorted(seconds, marks))
    return segments(score, [0, *(int(beats[i]) for i in idx if 0 < i < len(beats))])


def cut(score: symusic.Score, seg: Segment) -> symusic.Score:
    """The part of a tick-timed ``score`` whose notes start in ``seg``, shifted to tick 0."""
    out = symusic.Score(score.ticks_per_quarter)
    out.time_signatures = [
        symusic.TimeSignature(max(0, ts.time - seg.start), ts.numerator, ts.denominator)
        for ts in score.time_signatures
        if ts.time < seg.end
    ][-1:]
    tempos = sorted(score.tempos, key=lambda t: t.time)
    before = [t for t in tempos if t.time <= seg.start]
    first = before[-1].mspq if before else 500_000
    last = 0
    for track in score.tracks:
        new = symusic.Track(track.name, track.program, track.is_drum)
        arr = track.notes.numpy()
        keep = (arr["time"] >= seg.start) & (arr["time"] < seg.end)
        if keep.any():
            new.notes = symusic.Note.from_numpy(
                arr["time"][keep] - seg.start,
                arr["duration"][keep],
                arr["pitch"][keep],
                arr["velocity"][keep],
            )
            last = max(last, int((arr["time"][keep] + arr["duration"][keep]).max()) - seg.start)
        out.tracks.append(new)
    # The marker sits at least TAIL_S after the last note-off (counted at the fastest tempo
    # that can follow); tempo changes up to it are kept, later ones would only add silence.
    fastest = min([first, *(t.mspq for t in tempos if t.time > seg.start)])
    end = last + round(TAIL_S * 1e6 / fastest * score.ticks_per_quarter)
    later = [t for t in tempos if seg.start < t.time < seg.start + end]
    out.tempos = [_tempo(0, first), *(_tempo(t.time - seg.start, t.mspq) for t in later)]
    if out.tracks:
        out.tracks[0].controls.append(symusic.ControlChange(end, MARKER_CC, 0))
    return out


def _tempo(time: int, mspq: int) -> symusic.Tempo:
    tempo = symusic.Tempo(time, 60_000_000 / mspq)
    tempo.mspq = mspq  # exact: the integer a MIDI file stores
    return tempo


def same_notes(a: symusic.Score, b: symusic.Score) -> bool:
    """Whether two scores sound the same: the same tempo map and the same tracks with notes
    (program, drum flag and every note). Tracks without notes are left out: a part the
    composer had not used yet when a segment was first cut makes no sound."""
    if len(a.tempos) != len(b.tempos):
        return False
    if any(x.mspq != y.mspq or x.time != y.time for x, y in zip(a.tempos, b.tempos, strict=True)):
        return False
    sounding_a = [t for t in a.tracks if len(t.notes)]
    sounding_b = [t for t in b.tracks if len(t.notes)]
    if len(sounding_a) != len(sounding_b):
        return False
    for x, y in zip(sounding_a, sounding_b, strict=True):
        if (x.program, x.is_drum, len(x.notes)) != (y.program, y.is_drum, len(y.notes)):
            return False
        ax, ay = x.notes.numpy(), y.notes.numpy()
        if any(not np.array_equal(ax[k], ay[k]) for k in ("time", "duration", "pitch", "velocity")):
            return False
    return True


class SegmentRenderer:
    """Renders segments in background FluidSynth processes, adding them into one mix.

    ``submit`` may be called while the score is still growing (the segment's bars must be
    final); ``mix`` checks every submitted segment against the final score, takes out any
    that changed (rendered again and subtracted, so the mix matches a clean one to float32
    rounding) and renders it anew, renders the ones never submitted, and returns the mix.
    ``frames_hint``: the audio's expected length in frames, so the mix buffer is allocated
    once, with :data:`ROOM_S` to spare (it grows when a render runs past that).
    """

    def __init__(
        self, *, sample_rate: int, soundfont: Path, workers: int = 2, frames_hint: int = 0
    ) -> None:
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers))
        self._tmp = tempfile.TemporaryDirectory(prefix="cadence-render-")
        self._jobs: dict[Segment, tuple[symusic.Score, Future[None]]] = {}
        self._undone: list[Future[None]] = []
        self._lock = threading.Lock()  # guards the mix buffer and the file counter
        # room past the hint for the renders' tails; the pages are mapped lazily, so unused
        # room costs nothing, while growing the buffer would copy it
        room = round(ROOM_S * sample_rate) if frames_hint > 0 else 0
        self._out = np.zeros((max(0, frames_hint) + room, 2), dtype=np.float32)
        self._count = 0
        self._gate = threading.Condition()
        self._limit = max(1, workers)
        self._running = 0

    def __enter__(self) -> SegmentRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the renders and let go of the mix buffer (a view returned by :meth:`mix`
        stays valid while its holder keeps it)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()
        self._out = np.zeros((0, 2), dtype=np.float32)

    def set_parallel(self, n: int) -> None:
        """Let at most ``n`` (≤ workers) FluidSynth processes run at once from now on; a
        pipeline keeps this at 1 while the model composes on the other core."""
        with self._gate:
            self._limit = max(1, n)
            self._gate.notify_all()

    def submit(self, score: symusic.Score, seg: Segment) -> None:
        """Start rendering ``seg`` of ``score`` (tick-timed, arranged) in the background."""
        part = cut(score, seg)
        self._jobs[seg] = (part, self._pool.submit(self._render, part, seg.offset_s, 1.0))

    def submitted(self) -> set[Segment]:
        """The segments sent to render so far."""
        return set(self._jobs)

    def unfinished(self) -> int:
        """How many submitted segments are still waiting or rendering."""
        return sum(not job.done() for _, job in self._jobs.values())

    def _render(self, part: symusic.Score, offset_s: float, sign: float) -> None:
        with self._lock:
            self._count += 1
            mid = Path(self._tmp.name) / f"seg{self._count:04d}.mid"
        part.dump_midi(str(mid))
        with self._gate:
            self._gate.wait_for(lambda: self._running < self._limit)
            self._running += 1
        try:
            pos = round(offset_s * self.sample_rate)
            blocks = render_blocks(
                mid, sample_rate=self.sample_rate, soundfont=self.soundfont,
                chorus=needs_chorus(part, self.soundfont),
            )  # fmt: skip
            for block in blocks:
                self._add(pos, block, sign)
                pos += block.shape[0]
        finally:
            with self._gate:
                self._running -= 1
                self._gate.notify_all()
        mid.unlink()

    def _add(self, pos: int, block: np.ndarray, sign: float) -> None:
        end = pos + block.shape[0]
        with self._lock:
            self._reserve(end)
            if sign > 0:
                self._out[pos:end] += block
            else:
                self._out[pos:end] -= block

    def _reserve(self, frames: int) -> None:
        """Grow the mix buffer to at least ``frames`` (call with the lock held)."""
        if frames > self._out.shape[0]:
            grown = np.zeros((max(frames, self._out.shape[0] * 3 // 2), 2), dtype=np.float32)
            grown[: self._out.shape[0]] = self._out
            self._out = grown

    def _undo(self, seg: Segment) -> None:
        """Take a rendered segment back out of the mix (its render again, subtracted)."""
        part, job = self._jobs.pop(seg)
        job.result()
        self._undone.append(self._pool.submit(self._render, part, seg.offset_s, -1.0))

    def mix(self, score: symusic.Score, segs: list[Segment], frames: int) -> np.ndarray:
        """The whole score's audio (``frames`` long, stereo float32) from its segments."""
        for seg in [s for s in self._jobs if s not in segs]:
            self._undo(seg)
        for seg in segs:
            job = self._jobs.get(seg)
            if job is not None and not same_notes(job[0], cut(score, seg)):
                self._undo(seg)
                job = None
            if job is None:
                self.submit(score, seg)
        for future in [*(job for _, job in self._jobs.values()), *self._undone]:
            future.result()
        with self._lock:
            self._reserve(frames)
            return self._out[:frames]
