"""Normalise a piece the way the model learns music: track roles, then C major / A minor."""

from __future__ import annotations

from dataclasses import dataclass

import symusic

from cadence.music import features as feat
from cadence.music.keys import estimate_key, transpose_interval
from cadence.tokens.roles import apply_roles, assign_roles


@dataclass(frozen=True)
class Normalized:
    score: symusic.Score  # tracks named and programmed by role, transposed
    roles: list[str]
    tonic: int  # original key
    mode: str
    shift: int  # semitones applied (−5..+6)


def normalize(score: symusic.Score) -> Normalized:
    """Assign roles and transpose to C major or A minor (drums untouched)."""
    roles = assign_roles(score)
    score = apply_roles(score, roles)
    pitched = feat.note_arrays(score, pitched_only=True)
    tonic, mode, _ = estimate_key(pitched["pitch"], pitched["duration"])
    shift = transpose_interval(tonic, mode)
    if shift:
        for track in score.tracks:
            if not track.is_drum:
                track.shift_pitch(shift, inplace=True)
    return Normalized(score, roles, tonic, mode, shift)
