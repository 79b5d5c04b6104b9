"""Give each track a role and a role program so that parts stay distinct in the token stream.

MidiTok's single-stream REMI merges tracks that share a program. The Nottingham files put
melody and chords both on program 0, so before tokenizing every pitched track gets a role
(melody, accompaniment, bass) and the role's program; drums become percussion. In tokens,
the program therefore names the role; the prescription chooses the real instruments at render
time. The original programs are kept in the dataset metadata.
"""

from __future__ import annotations

import numpy as np
import symusic

ROLE_PROGRAMS = {"melody": 0, "accompaniment": 48, "bass": 32, "percussion": -1}
BASS_MAX_MEAN_PITCH = 55.0  # below G3 on average: a bass line (engineering choice)
MONOPHONIC_SHARE = 0.8  # share of onsets carrying a single note for a "line" (engineering choice)


def _line_share(track: symusic.Track) -> float:
    """Share of distinct onsets in the track that carry exactly one note."""
    times = track.notes.numpy()["time"]
    if len(times) == 0:
        return 0.0
    _, counts = np.unique(times, return_counts=True)
    return float(np.mean(counts == 1))


def assign_roles(score: symusic.Score) -> list[str]:
    """A role for each track of ``score`` (same order). Empty tracks get "accompaniment"."""
    roles = ["accompaniment"] * len(score.tracks)
    pitched = []
    for i, track in enumerate(score.tracks):
        if track.is_drum:
            roles[i] = "percussion"
        elif len(track.notes):
            mean_pitch = float(track.notes.numpy()["pitch"].mean())
            pitched.append((i, mean_pitch, _line_share(track), track.name.lower()))
    if not pitched:
        return roles
    lines = [p for p in pitched if p[2] >= MONOPHONIC_SHARE and p[3] != "chords"]
    melody = max(lines or pitched, key=lambda p: p[1])
    roles[melody[0]] = "melody"
    if len(pitched) >= 2:
        low = min((p for p in pitched if p[0] != melody[0]), key=lambda p: p[1])
        if low[1] < BASS_MAX_MEAN_PITCH and low[2] >= MONOPHONIC_SHARE:
            roles[low[0]] = "bass"
    return roles


def apply_roles(score: symusic.Score, roles: list[str]) -> symusic.Score:
    """A copy of ``score`` with each track named after its role and given the role's program."""
    out = score.copy()
    for track, role in zip(out.tracks, roles, strict=True):
        track.name = role
        if role == "percussion":
            track.is_drum = True
            track.program = 0
        else:
            track.program = ROLE_PROGRAMS[role]
    return out
