"""Build a :class:`Prescription` from a goal and what is known about the patient.

Start state (iso principle, Altshuler 1948; Davis, Gfeller & Thaut 2008): a heart rate sets
the start tempo near it (and the start arousal unless one is rated); a self-rated arousal sets
the start tempo through ``iso.tempo_from_arousal``; a self-rated valence sets the start valence.
With neither, the goal's default start applies. Pain is different: the patient's stated arousal
and valence are *preferences* that reshape the target (Basiński 2021; Howlin 2022).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cadence.therapy import iso, ras
from cadence.therapy.checks import FieldError, check_minutes, fail
from cadence.therapy.goals import (
    BREATHING_FRACTION,
    GOALS,
    PROFILES,
    REMINISCENCE_AGES,
    GoalProfile,
)
from cadence.therapy.instruments import parse_instrument, parse_key
from cadence.therapy.prescription import Prescription

# Fades together take at most this share of the session. Engineering choice (no source).
MAX_FADE_SHARE = 0.5


def build(
    goal: str, minutes: float, inputs: Mapping[str, Any], seed: int | None = None
) -> Prescription:
    """The default prescription for ``goal``, adapted to the patient's ``inputs`` (named as
    :data:`cadence.therapy.request.INPUTS`, each checked there against its bounds).

    gait: needs ``cadence_spm``; ``gait_step`` (5-10%) and ``gait_target`` (-12%..+12%) are
    fractions of cadence; ``fall_risk`` forbids any increase. ``breathing_rate`` (breaths/min)
    adds a loudness-envelope cue at 75% of it (Leslie 2019). ``birth_year`` gives the
    reminiscence years, ages 13-19 (Rao 2021). Raises FieldError on any bad input.
    """
    from cadence.therapy.request import check_inputs  # request reads this module's neighbours

    goal = str(goal).strip().lower()
    if goal not in GOALS:
        raise fail("goal", goal, f"must be one of {', '.join(GOALS)}")
    minutes = check_minutes(minutes)
    given = check_inputs(goal, inputs)
    cadence_spm = given.get("cadence_spm")
    heart_rate = given.get("heart_rate")
    arousal, valence = given.get("arousal"), given.get("valence")
    fall_risk = bool(given.get("fall_risk", False))
    profile = PROFILES[goal]
    tonic, mode = _key_and_mode(given.get("key"), given.get("mode"), profile.mode)
    meter = given.get("meter")
    num, den = _meter(meter) if meter is not None else profile.meter
    beats_per_bar = num * 4.0 / den
    programs = dict(profile.programs)
    if given.get("instrument") is not None:
        programs["melody"] = parse_instrument(given["instrument"])

    if goal == "gait":
        levels = ras.gait_levels(given.get("gait_step"), given.get("gait_target"), fall_risk)
        bars = ras.plan_gait(ras.check_cadence(cadence_spm), minutes, beats_per_bar, levels)
    else:
        start, target = _states(goal, profile, heart_rate, arousal, valence)
        bars = iso.plan_iso(start, target, minutes, beats_per_bar)
    planned_s = sum(beats_per_bar * 60.0 / b.tempo_bpm for b in bars)
    fade_in, fade_out = profile.fade_in_s, profile.fade_out_s
    if fade_in + fade_out > MAX_FADE_SHARE * planned_s:
        scale = MAX_FADE_SHARE * planned_s / (fade_in + fade_out)
        fade_in, fade_out = fade_in * scale, fade_out * scale

    return Prescription(
        goal=goal,
        minutes=minutes,
        bars=bars,
        key_tonic=tonic,
        mode=mode,
        meter=(num, den),
        programs=programs,
        pitch_range=dict(profile.pitch_range),
        beat_layer=profile.beat_layer,
        accents=ras.accents_for((num, den)) if profile.beat_layer else (),
        target_lufs=profile.target_lufs,
        fade_in_s=fade_in,
        fade_out_s=fade_out,
        strict_scale=profile.strict_scale,
        idiom=profile.idiom,
        cadence_spm=None if cadence_spm is None else float(cadence_spm),
        heart_rate=None if heart_rate is None else float(heart_rate),
        arousal=None if arousal is None else float(arousal),
        valence=None if valence is None else float(valence),
        fall_risk=bool(fall_risk),
        breathing_cue_per_min=_breathing_cue(given.get("breathing_rate")),
        reminiscence_years=_reminiscence(given.get("birth_year")),
        seed=seed,
    )


def _meter(meter: object) -> tuple[int, int]:
    """(numerator, denominator) as ints: numerator 1-16, denominator 2, 4, 8 or 16."""
    ok = (
        isinstance(meter, tuple | list)
        and len(meter) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in meter)
        and 1 <= meter[0] <= 16
        and meter[1] in (2, 4, 8, 16)
    )
    if not ok:
        raise fail("meter", meter, "give (numerator 1-16, denominator 2/4/8/16), e.g. (3, 4)")
    return int(meter[0]), int(meter[1])  # type: ignore[index]


def _key_and_mode(key: str | int | None, mode: str | None, default: str) -> tuple[int, str]:
    """Tonic and mode from the key text and the mode option; a conflict is an error."""
    tonic, key_mode = (0, None) if key is None else parse_key(key)
    if mode is not None:
        mode = str(mode).strip().lower()
        if mode not in ("major", "minor"):
            raise fail("mode", mode, "must be 'major' or 'minor'")
        if key_mode is not None and key_mode != mode:
            raise FieldError(
                "mode", f"mode: {mode!r} contradicts key {key!r}; give one or the other"
            )
    return tonic, mode or key_mode or default


def _states(
    goal: str,
    profile: GoalProfile,
    heart_rate: float | None,
    arousal: float | None,
    valence: float | None,
) -> tuple[iso.State, iso.State]:
    """Start and target states for the iso planner."""
    if goal == "cognition":
        # Familiar, predictable, moderate tempo held constant (THERAPY.md cognition).
        return profile.start, profile.target
    if goal == "pain":
        # Stated preferences reshape the target (Basinski 2021); start = target unless a heart
        # rate gives a present state to match first.
        target = profile.target
        if arousal is not None:
            target = replace(target, arousal=arousal, tempo_bpm=iso.tempo_from_arousal(arousal))
        if valence is not None:
            target = replace(target, valence=valence)
        start = target
        if heart_rate is not None:
            start = replace(
                target,
                tempo_bpm=iso.tempo_from_heart_rate(heart_rate),
                arousal=iso.arousal_from_heart_rate(heart_rate),
            )
        return start, target
    start = profile.start
    if arousal is not None:
        start = replace(start, arousal=arousal, tempo_bpm=iso.tempo_from_arousal(arousal))
    if heart_rate is not None:
        start = replace(start, tempo_bpm=iso.tempo_from_heart_rate(heart_rate))
        if arousal is None:
            start = replace(start, arousal=iso.arousal_from_heart_rate(heart_rate))
    if valence is not None:
        start = replace(start, valence=valence)
    target = profile.target
    # Never move against the goal: relaxation never speeds up or arouses, mood lift never
    # slows or saddens. If the patient is already past the target, hold the start value.
    if goal in ("sleep", "anxiety"):
        target = replace(
            target,
            tempo_bpm=min(target.tempo_bpm, start.tempo_bpm),
            arousal=min(target.arousal, start.arousal),
        )
    elif goal == "mood":
        target = replace(
            target,
            tempo_bpm=max(target.tempo_bpm, start.tempo_bpm),
            arousal=max(target.arousal, start.arousal),
            valence=max(target.valence, start.valence),
        )
    return start, target


def _breathing_cue(breathing_rate: float | None) -> float | None:
    """Loudness-envelope rate: 75% of the resting breathing rate (Leslie 2019)."""
    return None if breathing_rate is None else BREATHING_FRACTION * float(breathing_rate)


def _reminiscence(birth_year: int | None) -> tuple[int, int] | None:
    """Calendar years when the patient was 13-19 (Rao 2021), for primers and style."""
    if birth_year is None:
        return None
    return birth_year + REMINISCENCE_AGES[0], birth_year + REMINISCENCE_AGES[1]
