"""The iso-principle planner: match the patient's present state, then move toward the goal.

Iso principle: first match the listener's present state, then change the music gradually toward
the target state (Altshuler 1948; Davis, Gfeller & Thaut 2008). The plan has three phases:

1. *match*: the first :data:`MATCH_FRACTION` of the session holds the start state;
2. *move*:  every dimension moves monotonically toward its target, on a straight line in time
   that arrives at :data:`ARRIVE_FRACTION` of the session, clipped by per-bar and per-minute
   rate limits (so a short session may end before it reaches the target);
3. *plateau*: the target is held to the end.

No source gives the phase lengths or the rate limits; they are engineering choices, kept small
so that no change is sudden (THERAPY.md: "no sudden changes in dynamics", sleep; tempo changes
ramped, never jumps).
"""

from __future__ import annotations

from dataclasses import dataclass

from cadence.generation.plan import BarControl
from cadence.music.features import arousal_estimate

# Engineering choice (no source): share of the session spent matching the start state.
MATCH_FRACTION = 0.15
# Engineering choice (no source): the straight-line path reaches the target here.
ARRIVE_FRACTION = 0.75
# Engineering choice (no source): width of the velocity range below its cap.
VELOCITY_SPAN = 30


@dataclass(frozen=True)
class State:
    """A point in the music space the planner moves through.

    tempo_bpm: quarter-note beats per minute; arousal, valence: -1..1; density: melody notes
    per beat; register: mean MIDI pitch of the melody; velocity_max: MIDI velocity cap (1..127).
    """

    tempo_bpm: float
    arousal: float
    valence: float
    density: float
    register: float
    velocity_max: float


@dataclass(frozen=True)
class RateLimits:
    """Largest change of each dimension, per bar and per minute of music.

    Engineering choices (no source gives them). Tempo: at most 0.5 BPM per bar and 2 BPM per
    minute, so a 12 BPM descent takes at least 6 minutes (MedRhythms' "imperceptible" changes
    are the intent, not the figure). Velocity: at most 1 per bar and 4 per minute (THERAPY.md
    safety rail: no sudden loudness jumps).
    """

    per_bar: State = State(0.5, 0.02, 0.02, 0.05, 0.25, 1.0)
    per_minute: State = State(2.0, 0.1, 0.1, 0.25, 1.0, 4.0)


DEFAULT_LIMITS = RateLimits()
DIMENSIONS = ("tempo_bpm", "arousal", "valence", "density", "register", "velocity_max")


def tempo_from_heart_rate(heart_rate: float) -> float:
    """Start tempo that matches a heart rate: the rate itself, clipped to 50..140 BPM.

    Tempo tracking heart rate at the start is THERAPY.md's anxiety guidance (iso principle);
    the 50..140 clip keeps the music playable and is an engineering choice (no source).
    """
    return min(max(float(heart_rate), 50.0), 140.0)


def arousal_from_heart_rate(heart_rate: float) -> float:
    """Arousal -1..1 from heart rate: 70 BPM -> 0, +/-50 BPM -> +/-1.

    Engineering choice (no source): a linear map centred on a typical resting rate.
    """
    return min(max((float(heart_rate) - 70.0) / 50.0, -1.0), 1.0)


def tempo_from_arousal(arousal: float) -> float:
    """Tempo for a self-rated arousal -1..1: 80 BPM at 0, 50 at -1, 110 at +1.

    Engineering choice (no source): a linear map over a comfortable tempo span.
    """
    return 80.0 + 30.0 * min(max(float(arousal), -1.0), 1.0)


def _toward(prev: float, desired: float, target: float, bound: float) -> float:
    """Move from prev toward desired by at most bound, never past the target."""
    step = min(max(desired - prev, -bound), bound)
    nxt = prev + step
    # Stay on the start side of the target (monotone approach).
    return min(nxt, target) if target >= prev else max(nxt, target)


def plan_iso(
    start: State,
    target: State,
    minutes: float,
    beats_per_bar: float,
    *,
    limits: RateLimits = DEFAULT_LIMITS,
    match_fraction: float = MATCH_FRACTION,
    arrive_fraction: float = ARRIVE_FRACTION,
) -> tuple[BarControl, ...]:
    """One :class:`BarControl` per bar from ``start`` toward ``target`` over ``minutes``.

    Bars are added while the next bar's midpoint falls inside the session, so the plan lasts
    within half a bar of ``minutes`` (and never fewer than one bar). Every dimension is
    monotone from start toward target, changes by at most ``limits.per_bar`` between bars and
    by at most ``limits.per_minute`` over any 60 seconds.
    """
    total_s = minutes * 60.0
    t_match = match_fraction * total_s
    t_arrive = max(arrive_fraction * total_s, t_match + 1e-9)
    values = {d: float(getattr(start, d)) for d in DIMENSIONS}
    bars: list[BarControl] = []
    t = 0.0
    while True:
        if bars:
            # The change into this bar is bounded by the previous bar's length, so any window
            # of bars lasting 60 s changes by at most per_minute.
            prev_s = beats_per_bar * 60.0 / bars[-1].tempo_bpm
            frac = min(max((t - t_match) / (t_arrive - t_match), 0.0), 1.0)
            for d in DIMENSIONS:
                a, b = float(getattr(start, d)), float(getattr(target, d))
                bound = min(getattr(limits.per_bar, d), getattr(limits.per_minute, d) * prev_s / 60)
                values[d] = _toward(values[d], a + (b - a) * frac, b, bound)
        bar = _bar(values)
        dur = beats_per_bar * 60.0 / bar.tempo_bpm
        if bars and t + dur / 2.0 > total_s:
            break
        bars.append(bar)
        t += dur
    return tuple(bars)


def implied_arousal(
    tempo_bpm: float, density: float, velocity_min: int, velocity_max: int
) -> float:
    """The arousal a bar's own tempo, note density and mean velocity express, under the rule
    the evaluation measures music with (:func:`cadence.music.features.arousal_estimate`).

    Plans carry this rather than the goal's stated arousal: the model was trained with
    arousal control tokens computed by that rule from real bars, so a token that disagreed
    with the bar's forced tempo, density and velocity would be out of distribution, and the
    planned and measured arousal in ``plan.png`` could never meet. The goal's stated
    arousal still sets the start tempo (:func:`tempo_from_arousal`).
    """
    return arousal_estimate(tempo_bpm, density, (velocity_min + velocity_max) / 2.0)


def _bar(values: dict[str, float]) -> BarControl:
    """A BarControl from planner values; the velocity cap is rounded to a MIDI integer and the
    arousal is the one the bar's music implies (:func:`implied_arousal`)."""
    vmax = int(min(max(round(values["velocity_max"]), 1), 127))
    vmin = max(1, vmax - VELOCITY_SPAN)
    return BarControl(
        tempo_bpm=values["tempo_bpm"],
        arousal=implied_arousal(values["tempo_bpm"], values["density"], vmin, vmax),
        valence=values["valence"],
        density=values["density"],
        register=values["register"],
        velocity_min=vmin,
        velocity_max=vmax,
    )
