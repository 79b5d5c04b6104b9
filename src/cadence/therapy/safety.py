"""Safety rails every prescription passes (THERAPY.md, "Safety rails, for every goal").

- Loudness: a hard cap (WHO-ITU safe-listening guidance; the figure is our engineering choice,
  see :data:`cadence.therapy.goals.LUFS_CAP`) and no sudden loudness jumps between bars.
- Tempo: no sudden tempo changes; for gait a tighter per-bar bound, cues within -12%..+12%
  of cadence (s41598-025-12316-9), starting at the cadence (PMC8801707), and no increase at
  all under a fall-risk flag.

:func:`check` runs in :class:`~cadence.therapy.prescription.Prescription`'s constructor, so a
prescription that exists has passed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadence.errors import CadenceError
from cadence.therapy import ras
from cadence.therapy.goals import LUFS_CAP

if TYPE_CHECKING:
    from cadence.therapy.prescription import Prescription

# Largest change of the velocity cap between consecutive bars. Engineering choice (no source
# gives a figure for "no sudden loudness jumps"); the iso planner moves by at most 1 per bar.
MAX_VELOCITY_STEP = 3
# Largest tempo change between consecutive bars for any goal, BPM. Engineering choice.
MAX_TEMPO_STEP = 1.0
# Tolerance for floating-point comparisons.
_EPS = 1e-6


def check(p: Prescription) -> None:
    """Raise CadenceError naming the first safety rail ``p`` breaks; return None if safe."""
    check_loudness(p.target_lufs)
    prev = None
    for i, bar in enumerate(p.bars):
        if prev is not None:
            if abs(bar.velocity_max - prev.velocity_max) > MAX_VELOCITY_STEP:
                raise CadenceError(
                    f"bars[{i}].velocity_max: jumps {prev.velocity_max} -> {bar.velocity_max}; "
                    f"the velocity cap may change by at most {MAX_VELOCITY_STEP} per bar"
                )
            if abs(bar.tempo_bpm - prev.tempo_bpm) > MAX_TEMPO_STEP + _EPS:
                raise CadenceError(
                    f"bars[{i}].tempo_bpm: jumps {prev.tempo_bpm:.2f} -> {bar.tempo_bpm:.2f}; "
                    f"tempo may change by at most {MAX_TEMPO_STEP:g} BPM per bar"
                )
        prev = bar
    if p.goal == "gait":
        check_gait(p)


def check_loudness(target_lufs: float) -> None:
    """The target loudness must not exceed the hard cap."""
    if target_lufs > LUFS_CAP:
        raise CadenceError(
            f"target_lufs: got {target_lufs:g}; must be at most {LUFS_CAP:g} LUFS integrated "
            "(safe-listening cap)"
        )


def check_gait(p: Prescription) -> None:
    """RAS rails: start at cadence, stay in -12%..+12%, ramp gently, no increase on fall risk."""
    cadence = ras.check_cadence(p.cadence_spm)
    first = p.bars[0].tempo_bpm
    if abs(first - cadence) > _EPS:
        raise CadenceError(
            f"bars[0].tempo_bpm: got {first:.2f}; gait starts at the measured cadence "
            f"{cadence:g} spm"
        )
    lo, hi = cadence * (1 + ras.OFFSET_MIN), cadence * (1 + ras.OFFSET_MAX)
    if p.fall_risk:
        hi = cadence
    prev = first
    for i, bar in enumerate(p.bars):
        if not lo - _EPS <= bar.tempo_bpm <= hi + _EPS:
            raise CadenceError(
                f"bars[{i}].tempo_bpm: got {bar.tempo_bpm:.2f}; gait cues must stay within "
                f"{lo:.1f}-{hi:.1f} BPM for cadence {cadence:g}"
                + (" with fall risk (no increase)" if p.fall_risk else " (-12%..+12%)")
            )
        if abs(bar.tempo_bpm - prev) > ras.MAX_BPM_PER_BAR + _EPS:
            raise CadenceError(
                f"bars[{i}].tempo_bpm: jumps {prev:.2f} -> {bar.tempo_bpm:.2f}; gait tempo may "
                f"change by at most {ras.MAX_BPM_PER_BAR:g} BPM per bar"
            )
        prev = bar.tempo_bpm
