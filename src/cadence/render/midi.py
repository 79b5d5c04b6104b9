"""MIDI out: write an arranged Score as a Standard MIDI File with a conductor track."""

from __future__ import annotations

from pathlib import Path

import symusic

CONDUCTOR_NAME = "conductor"


def with_conductor_track(score: symusic.Score) -> symusic.Score:
    """A copy of ``score`` (in ticks) whose first track is empty.

    symusic writes the tempo, time- and key-signature events into the first track; when that
    track also holds notes, readers that take a note-free first track as the conductor
    (music21, many notation programs) apply the meter to the first part only. An empty first
    track carries them for every part. symusic drops empty tracks when it reads a file, so
    the round trip through symusic is unchanged.
    """
    out = score.to(symusic.TimeUnit.tick) if score.ttype != symusic.TimeUnit.tick else score.copy()
    out.tracks = [symusic.Track(CONDUCTOR_NAME, 0, False), *out.tracks]
    return out


def to_midi(score: symusic.Score, path: str | Path) -> Path:
    """Write ``score`` to ``path`` as a type-1 MIDI file; returns the path.

    Track 1 is a note-free conductor track holding the tempo map, meter and key; drum tracks
    play on channel 10. The parent folder is created when missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(with_conductor_track(score).dumps_midi())
    return path
