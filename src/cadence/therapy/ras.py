"""Rhythmic auditory stimulation (RAS) for gait: one beat per step, a steady salient beat.

Protocol (THERAPY.md): start at the patient's own preferred cadence, one beat per step
(PMC8801707, Table 1); raise it in steps of 5-10% as the patient adapts (PMC8801707); cues
have been tested from -12% to +12% of cadence (Sci Rep 2025, s41598-025-12316-9); ramp tempo
changes in small steps, never as jumps (MedRhythms InTandem: "imperceptible" changes). A fall
risk turns off any increase (THERAPY.md safety rails).

Within one session the plan holds the cadence, then each step in turn, in equal stages; a
change between stages is ramped by at most :data:`MAX_BPM_PER_BAR` per bar.
"""

from __future__ import annotations

from cadence.generation.plan import BarControl
from cadence.therapy.checks import FieldError, in_range
from cadence.therapy.iso import implied_arousal

# Validation range for a measured cadence, steps per minute. Engineering choice (no source):
# wide enough for very slow Parkinsonian and fast healthy walking, narrow enough to catch typos.
CADENCE_MIN, CADENCE_MAX = 30.0, 200.0
# Progression step as a fraction of cadence: 5-10% (PMC8801707, Table 1).
STEP_MIN, STEP_MAX = 0.05, 0.10
# Range of cue tempo relative to cadence tested in research: -12%..+12% (s41598-025-12316-9).
OFFSET_MIN, OFFSET_MAX = -0.12, 0.12
# Default step: the low end of PMC8801707's 5-10% range, the conservative choice within it.
DEFAULT_STEP = 0.05
# Default session goal: +10% in two 5% steps. Engineering choice (no source gives a per-session
# target); it stays inside the +12% tested by s41598-025-12316-9.
DEFAULT_TARGET = 0.10
# Largest tempo change between consecutive bars, BPM. Engineering choice (no source gives a
# number; MedRhythms describes the changes only as "imperceptible").
MAX_BPM_PER_BAR = 1.0
# Beat-layer accents: beat 1 strongest, the rest equal and softer. Engineering choice.
ACCENT_DOWNBEAT, ACCENT_OTHER = 1.0, 0.6
# Music targets during gait training. Engineering choices (no source): moderate, positive,
# steady; the beat layer, not the melody, carries the cue. The arousal of each bar is the one
# its tempo, density and velocity imply (iso.implied_arousal), so it follows the cadence.
GAIT_VALENCE, GAIT_DENSITY, GAIT_REGISTER = 0.4, 2.0, 67.0
GAIT_VELOCITY_MIN, GAIT_VELOCITY_MAX = 60, 95


def check_cadence(cadence_spm: float | None) -> float:
    """The measured cadence as a float, or a CadenceError naming the fix."""
    if cadence_spm is None:
        raise FieldError(
            "cadence_spm",
            "cadence_spm: gait needs the patient's measured walking cadence "
            f"({CADENCE_MIN:g}-{CADENCE_MAX:g} steps per minute); record it in the baseline or "
            "give it for this session"
        )
    if not in_range(cadence_spm, CADENCE_MIN, CADENCE_MAX):
        raise FieldError(
            "cadence_spm",
            f"cadence_spm: got {cadence_spm!r}; must be {CADENCE_MIN:g}-{CADENCE_MAX:g} steps per "
            "minute"
        )
    return float(cadence_spm)


def gait_levels(step: float | None, target: float | None, fall_risk: bool) -> tuple[float, ...]:
    """Tempo offsets (fractions of cadence) of the session's stages: 0, then step by step.

    ``step`` must be 5-10% (PMC8801707); ``target`` must be within -12%..+12%
    (s41598-025-12316-9); with ``fall_risk`` the default target is 0 and any increase is an
    error. The last step may be smaller than ``step`` so that the target is met exactly.
    """
    step = DEFAULT_STEP if step is None else step
    if not in_range(step, STEP_MIN, STEP_MAX):
        raise FieldError(
            "gait_step",
            f"gait_step: got {step!r}; RAS progresses in steps of {STEP_MIN:g}-{STEP_MAX:g} "
            "(5-10% of cadence)"
        )
    if target is None:
        target = 0.0 if fall_risk else DEFAULT_TARGET
    if not in_range(target, OFFSET_MIN, OFFSET_MAX):
        raise FieldError(
            "gait_target",
            f"gait_target: got {target!r}; cues are tested from {OFFSET_MIN:g} to {OFFSET_MAX:g} "
            "of cadence (-12%..+12%)"
        )
    step, target = float(step), float(target)
    if fall_risk and target > 0:
        raise FieldError(
            "gait_target",
            f"gait_target: got +{target:g} with fall_risk set; fall risk allows no tempo "
            "increase, use 0 or a negative target"
        )
    levels = [0.0]
    sign = 1.0 if target >= 0 else -1.0
    while abs(target - levels[-1]) > 1e-9:
        levels.append(levels[-1] + sign * min(step, abs(target - levels[-1])))
    return tuple(levels)


def plan_gait(
    cadence_spm: float,
    minutes: float,
    beats_per_bar: float,
    levels: tuple[float, ...],
) -> tuple[BarControl, ...]:
    """One BarControl per bar: cadence x (1 + level), stage by stage, ramped per bar.

    One beat per step, so ``tempo_bpm`` equals steps per minute. The first bar is exactly the
    cadence; consecutive bars differ by at most :data:`MAX_BPM_PER_BAR`. Bars are added while
    the next bar's midpoint falls inside the session (at least one bar).
    """
    total_s = minutes * 60.0
    stage_s = total_s / len(levels)
    bars: list[BarControl] = []
    tempo = cadence_spm
    t = 0.0
    while True:
        if bars:
            level = levels[min(int(t / stage_s), len(levels) - 1)]
            desired = cadence_spm * (1.0 + level)
            tempo += min(max(desired - tempo, -MAX_BPM_PER_BAR), MAX_BPM_PER_BAR)
        dur = beats_per_bar * 60.0 / tempo
        if bars and t + dur / 2.0 > total_s:
            break
        bars.append(
            BarControl(
                tempo_bpm=tempo,
                arousal=implied_arousal(tempo, GAIT_DENSITY, GAIT_VELOCITY_MIN, GAIT_VELOCITY_MAX),
                valence=GAIT_VALENCE,
                density=GAIT_DENSITY,
                register=GAIT_REGISTER,
                velocity_min=GAIT_VELOCITY_MIN,
                velocity_max=GAIT_VELOCITY_MAX,
            )
        )
        t += dur
    return tuple(bars)


def accents_for(meter: tuple[int, int]) -> tuple[float, ...]:
    """Accent per beat of the bar for the beat layer: beat 1 strongest."""
    return (ACCENT_DOWNBEAT,) + (ACCENT_OTHER,) * (meter[0] - 1)
