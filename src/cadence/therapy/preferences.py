"""Per-patient preference learning: which prescription variant works for this patient.

Personal preferences shape relief (Basiński 2021) and perceived choice matters (Howlin 2022;
THERAPY.md, pain), so within the safety rails Cadence learns from each patient's ratings and
outcomes which *variant* of a goal's prescription to play. A variant sets four dimensions:

- ``instrument``: the melody's General MIDI program, from the patient's liked instruments and
  the goal's default (disliked ones never);
- ``tempo_offset``: a fraction added to the whole tempo plan (iso goals), or, for gait, to the
  RAS session target, always clipped to -12%..+12% of cadence (SciRep2025) and never above 0
  with a fall risk (THERAPY.md safety rails);
- ``mode``: "major" or "minor", only where the goal's mode has no clinical source
  (cognition, gait, pain); sleep and anxiety stay consonant and tonal (ParadaCabaleiro2022),
  mood stays major (GagnonPeretz2003);
- ``density``: a factor on the planned notes per beat; sleep and anxiety never get busier
  ("slow down, soften and simplify", THERAPY.md anxiety; "little rhythmic change", sleep).

The learner is Thompson sampling (Thompson 1933, Biometrika 25; Russo et al. 2018, "A Tutorial
on Thompson Sampling", Found. Trends ML 11(1)) over a Bayesian linear model of the reward:
reward = w0 + sum over dimensions of w[dimension = value] + noise, with a Normal-inverse-gamma
prior (ridge prior on the weights, unknown noise variance). Each suggestion draws one weight
vector from the posterior and takes, dimension by dimension, the value with the largest drawn
weight; the additive model lets every session inform every dimension. Sessions of all goals are
pooled: the taste is the patient's.

Reward of one past session, in -1..1 (ENGINEERING: no source gives a combination rule): the
1-5 rating mapped linearly ((rating - 3) / 2), and the goal's outcome changes, each normalised
by its scale's range, signed so that improvement is positive (STAI-6 down, mood VAS up, ...),
multiplied by :data:`OUTCOME_GAIN` and clipped; the two parts are averaged when both exist.

Everything here is pure: plain data in, plain data out, randomness only from the ``rng`` given.
therapy/ never imports clinic/; the clinic hands its history over as plain records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cadence.errors import CadenceError
from cadence.generation.plan import BarControl
from cadence.music.keys import PITCH_NAMES
from cadence.therapy import ras
from cadence.therapy.goals import GOALS, PROFILES
from cadence.therapy.instruments import parse_instrument, parse_key, program_name
from cadence.therapy.prescription import Prescription
from cadence.tokens.controls import COLLECTIONS

DIMENSIONS = ("instrument", "tempo_offset", "mode", "density")
# The styles a patient may like or dislike: the source collections the model's style token
# names (tokens.controls.COLLECTIONS), without its catch-all "other".
STYLES = tuple(c for c in COLLECTIONS if c != "other")


def instrument_name(value: str | int) -> str:
    """The General MIDI name of an instrument a patient may like or dislike ("violin", 40,
    "Violin " all give "violin"); CadenceError naming the choices for anything else."""
    return program_name(parse_instrument(value))


def style_name(value: str) -> str:
    """One of :data:`STYLES` (case as there, whatever case is given); CadenceError otherwise."""
    for style in STYLES:
        if isinstance(value, str) and value.strip().lower() == style.lower():
            return style
    raise CadenceError(f"style: unknown {value!r}; give one of {', '.join(STYLES)}")

# Tempo offsets tried, as fractions of the planned tempo. ENGINEERING: -10% lies inside the
# -12%..+12% range cues were tested over (SciRep2025); +5% is the low end of RAS's 5-10%
# progression step (PMC8801707).
TEMPO_OFFSETS = (-0.10, 0.0, 0.05)
# Density factors tried. ENGINEERING: +-20% is a clearly audible but modest change.
DENSITY_FACTORS = (0.8, 1.0, 1.2)
# Goals whose default music must not get faster or busier: relaxation slows down and
# simplifies (THERAPY.md anxiety, Cotoia2018; sleep: slow tempo, little rhythmic change).
CALMING = ("sleep", "anxiety")
# Goals whose mode has a clinical source and is therefore not varied: relaxation wants
# consonant, tonal music (ParadaCabaleiro2022); mood lift wants major (GagnonPeretz2003).
FIXED_MODE = {"sleep": "major", "anxiety": "major", "mood": "major"}

# Outcome measures per goal, with the direction that is an improvement, and each measure's
# scale range for normalisation (THERAPY.md, "Outcome measures clinicians use"): mood VAS 0-100,
# STAI-6 20-80 (six items 1-4, total x 20/6), pain NRS 0-10, engagement 1-5. The validation
# ranges for heart rate, cadence, gait speed and sleep-onset latency are ENGINEERING choices
# matching the clinic's input ranges.
MEASURE_RANGES: dict[str, tuple[float, float]] = {
    "mood_vas": (0.0, 100.0),
    "stai6": (20.0, 80.0),
    "pain_nrs": (0.0, 10.0),
    "heart_rate": (30.0, 220.0),
    "cadence_spm": (30.0, 200.0),
    "gait_speed": (0.0, 3.0),
    "sleep_onset_min": (0.0, 240.0),
    "sleep_quality": (1.0, 5.0),
    "engagement": (1.0, 5.0),
}
GOAL_MEASURES: dict[str, dict[str, int]] = {
    "anxiety": {"stai6": -1, "heart_rate": -1},
    "sleep": {"sleep_onset_min": -1, "sleep_quality": 1, "heart_rate": -1},
    "mood": {"mood_vas": 1},
    "pain": {"pain_nrs": -1},
    "gait": {"gait_speed": 1, "cadence_spm": 1},
    "cognition": {"engagement": 1},
}
# ENGINEERING: a change of a quarter of the scale's range counts as the full reward (1.0).
OUTCOME_GAIN = 4.0
# ENGINEERING: the rating and the outcome weigh equally when both exist.
RATING_WEIGHT = 0.5

# Normal-inverse-gamma prior (ENGINEERING): weights ~ N(0, sigma^2 / PRIOR_PRECISION),
# sigma^2 ~ InvGamma(PRIOR_A, PRIOR_B) (prior mean noise variance 0.25, i.e. sd 0.5 on the
# -1..1 reward scale, weakly held).
PRIOR_PRECISION = 1.0
PRIOR_A = 2.0
PRIOR_B = 0.25


@dataclass(frozen=True)
class Observation:
    """One past session as the learner sees it: its variant and its reward in -1..1."""

    variant: dict[str, Any]
    reward: float
    goal: str = ""


def rating_reward(rating: float) -> float:
    """A 1-5 rating as a reward in -1..1: 1 -> -1, 3 -> 0, 5 -> 1."""
    if not 1 <= rating <= 5:
        raise CadenceError(f"rating: got {rating!r}; must be 1-5")
    return (float(rating) - 3.0) / 2.0


def outcome_reward(goal: str, changes: Mapping[str, float]) -> float | None:
    """Mean signed, normalised improvement over the goal's measures present in ``changes``.

    ``changes`` maps a measure name to ``after - before`` in the measure's unit. Measures that
    are not the goal's are ignored; None when none of the goal's measures is present.
    """
    parts = []
    for measure, sign in GOAL_MEASURES.get(goal, {}).items():
        if measure in changes and changes[measure] is not None:
            low, high = MEASURE_RANGES[measure]
            value = sign * float(changes[measure]) / (high - low) * OUTCOME_GAIN
            parts.append(min(max(value, -1.0), 1.0))
    return sum(parts) / len(parts) if parts else None


def session_reward(goal: str, rating: float | None, changes: Mapping[str, float]) -> float | None:
    """The reward of one session (module docstring), or None when it has no rating or outcome."""
    r = None if rating is None else rating_reward(rating)
    o = outcome_reward(goal, changes)
    if r is None:
        return o
    if o is None:
        return r
    return RATING_WEIGHT * r + (1.0 - RATING_WEIGHT) * o


def arms(
    goal: str,
    *,
    liked_instruments: Sequence[str | int] = (),
    disliked_instruments: Sequence[str | int] = (),
    fall_risk: bool = False,
) -> dict[str, tuple[Any, ...]]:
    """The values each dimension may take for ``goal`` within the safety rails."""
    if goal not in GOALS:
        raise CadenceError(f"goal: got {goal!r}; must be one of {', '.join(GOALS)}")
    default_program = PROFILES[goal].programs["melody"]
    disliked = {parse_instrument(x) for x in disliked_instruments}
    instruments = [default_program] + [parse_instrument(x) for x in liked_instruments]
    instruments = list(dict.fromkeys(p for p in instruments if p not in disliked))
    if not instruments:
        instruments = [default_program]  # every liked one is disliked too: keep the default
    if goal == "gait":
        # Offsets that clip to the same RAS target are one arm; keep the smaller offset.
        by_target: dict[float, float] = {}
        for o in sorted(TEMPO_OFFSETS):
            by_target.setdefault(round(gait_target(o, fall_risk), 6), o)
        tempo = tuple(by_target.values())
    elif goal in CALMING:
        tempo = tuple(o for o in TEMPO_OFFSETS if o <= 0.0)
    else:
        tempo = TEMPO_OFFSETS
    density = tuple(d for d in DENSITY_FACTORS if goal not in CALMING or d <= 1.0)
    modes = (FIXED_MODE[goal],) if goal in FIXED_MODE else ("major", "minor")
    return {
        "instrument": tuple(instruments),
        "tempo_offset": tempo,
        "mode": modes,
        "density": density,
    }


def gait_target(offset: float, fall_risk: bool) -> float:
    """The RAS session target (fraction of cadence) for a tempo offset: the default target
    (+10%, or 0 with a fall risk; ras.DEFAULT_TARGET) plus the offset, clipped to -12%..+12%
    (SciRep2025) and to 0 with a fall risk (THERAPY.md safety rails)."""
    base = 0.0 if fall_risk else ras.DEFAULT_TARGET
    high = 0.0 if fall_risk else ras.OFFSET_MAX
    return min(max(base + offset, ras.OFFSET_MIN), high)


def _key(dimension: str, value: Any) -> str:
    if isinstance(value, float):
        value = round(value, 6)
    return f"{dimension}={value!r}"


@dataclass
class PreferenceModel:
    """Thompson sampling over prescription variants for one patient (module docstring).

    Build it with :meth:`from_history`, ask :meth:`suggest`, and :meth:`update` after a
    session. ``liked_instruments`` / ``disliked_instruments`` are GM names or numbers.
    """

    observations: list[Observation] = field(default_factory=list)
    liked_instruments: tuple[str | int, ...] = ()
    disliked_instruments: tuple[str | int, ...] = ()

    @classmethod
    def from_history(
        cls,
        records: Iterable[Mapping[str, Any] | object],
        *,
        liked_instruments: Sequence[str | int] = (),
        disliked_instruments: Sequence[str | int] = (),
    ) -> PreferenceModel:
        """A model from past sessions as plain records.

        Each record (a mapping, or an object with these attributes) has ``goal``,
        ``variant`` (dict or None), ``rating`` (1-5 or None) and ``outcome_changes``
        (measure -> after - before; ``outcomes`` is accepted too); without a rating, ``liked``
        (True/False) counts as a rating of 4/2. Records without a variant,
        or with neither rating nor outcome, teach nothing and are skipped.
        """
        model = cls(
            liked_instruments=tuple(liked_instruments),
            disliked_instruments=tuple(disliked_instruments),
        )
        for rec in records:
            variant = _get(rec, "variant")
            if not variant:
                continue
            goal = str(_get(rec, "goal") or "")
            changes = _get(rec, "outcome_changes")
            if changes is None:
                changes = _get(rec, "outcomes")
            rating = _get(rec, "rating")
            liked = _get(rec, "liked")
            if rating is None and isinstance(liked, bool):
                rating = 4 if liked else 2  # liked / disliked alone: +-0.5 (ENGINEERING)
            reward = session_reward(goal, rating, dict(changes or {}))
            if reward is not None:
                model.update(dict(variant), reward, goal=goal)
        return model

    def update(self, variant: Mapping[str, Any], reward: float, *, goal: str = "") -> None:
        """Learn from one session: ``reward`` in -1..1 for ``variant``."""
        if not math.isfinite(reward) or not -1.0 <= reward <= 1.0:
            raise CadenceError(f"reward: got {reward!r}; must be in -1..1")
        self.observations.append(Observation(dict(variant), float(reward), goal))

    def arms(self, goal: str, *, fall_risk: bool = False) -> dict[str, tuple[Any, ...]]:
        return arms(
            goal,
            liked_instruments=self.liked_instruments,
            disliked_instruments=self.disliked_instruments,
            fall_risk=fall_risk,
        )

    def posterior(
        self, candidates: Mapping[str, Sequence[Any]]
    ) -> tuple[list[str], np.ndarray, np.ndarray, float, float]:
        """(feature keys, mean, precision matrix, a, b) of the Normal-inverse-gamma posterior.

        Features: an intercept, then one indicator per (dimension, value) among the candidates
        and the values seen in past sessions.
        """
        keys = ["bias"]
        for dim in DIMENSIONS:
            keys += [_key(dim, v) for v in candidates.get(dim, ())]
        for obs in self.observations:
            keys += [_key(d, v) for d, v in obs.variant.items() if d in DIMENSIONS]
        keys = list(dict.fromkeys(keys))
        index = {k: i for i, k in enumerate(keys)}
        x = np.zeros((len(self.observations), len(keys)))
        y = np.array([o.reward for o in self.observations], dtype=float)
        for row, obs in enumerate(self.observations):
            x[row, 0] = 1.0
            for d, v in obs.variant.items():
                if d in DIMENSIONS:
                    x[row, index[_key(d, v)]] = 1.0
        precision = PRIOR_PRECISION * np.eye(len(keys)) + x.T @ x
        mean = np.linalg.solve(precision, x.T @ y)
        a = PRIOR_A + len(y) / 2.0
        b = PRIOR_B + 0.5 * float(y @ y - mean @ precision @ mean)
        return keys, mean, precision, a, max(b, 1e-9)

    def suggest(
        self,
        goal: str,
        rng: np.random.Generator,
        *,
        fall_risk: bool = False,
        fixed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One Thompson-sampling draw: the variant to play next for ``goal``.

        ``fixed`` pins dimensions the clinician chose (e.g. ``{"mode": "major"}``); they are
        returned as given. The result holds every dimension of :data:`DIMENSIONS`.
        """
        candidates = self.arms(goal, fall_risk=fall_risk)
        fixed = dict(fixed or {})
        keys, mean, precision, a, b = self.posterior(candidates)
        sigma2 = b / rng.gamma(a)  # sigma^2 ~ InvGamma(a, b)
        cov = sigma2 * np.linalg.inv(precision)
        cov = (cov + cov.T) / 2.0
        w = rng.multivariate_normal(mean, cov, method="cholesky")
        index = {k: i for i, k in enumerate(keys)}
        variant: dict[str, Any] = {}
        for dim in DIMENSIONS:
            if dim in fixed:
                variant[dim] = fixed[dim]
                continue
            values = candidates[dim]
            drawn = [w[index[_key(dim, v)]] for v in values]
            variant[dim] = values[int(np.argmax(drawn))]
        return variant

    def best(self, goal: str, *, fall_risk: bool = False) -> dict[str, Any]:
        """The variant with the highest posterior mean reward (no sampling)."""
        candidates = self.arms(goal, fall_risk=fall_risk)
        keys, mean, _, _, _ = self.posterior(candidates)
        index = {k: i for i, k in enumerate(keys)}
        best: dict[str, Any] = {}
        for dim in DIMENSIONS:
            scores = [mean[index[_key(dim, v)]] for v in candidates[dim]]
            best[dim] = candidates[dim][int(np.argmax(scores))]
        return best


def _get(record: Mapping[str, Any] | object, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def check_variant(goal: str, variant: Mapping[str, Any], *, fall_risk: bool = False) -> None:
    """Raise CadenceError unless ``variant`` stays within the goal's safety rails."""
    unknown = sorted(set(variant) - set(DIMENSIONS))
    if unknown:
        raise CadenceError(f"variant: unknown dimension {unknown[0]!r}; known: {DIMENSIONS}")
    offset = float(variant.get("tempo_offset", 0.0))
    density = float(variant.get("density", 1.0))
    if not ras.OFFSET_MIN <= offset <= ras.OFFSET_MAX:
        raise CadenceError(
            f"variant.tempo_offset: got {offset:g}; must be within -0.12..+0.12 (SciRep2025)"
        )
    if goal in CALMING and (offset > 0 or density > 1.0):
        raise CadenceError(
            f"variant: {goal} never gets faster or busier (tempo_offset {offset:g}, density "
            f"{density:g})"
        )
    if not 0.5 <= density <= 2.0:
        raise CadenceError(f"variant.density: got {density:g}; must be 0.5-2.0")
    mode = variant.get("mode")
    if mode is not None and goal in FIXED_MODE and mode != FIXED_MODE[goal]:
        raise CadenceError(f"variant.mode: {goal} stays {FIXED_MODE[goal]} (got {mode!r})")


def variant_kwargs(
    goal: str, variant: Mapping[str, Any], kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``Prescription.for_goal`` keyword arguments with the variant's instrument, mode and (for
    gait) RAS target filled in. What the caller already set in ``kwargs`` wins."""
    out = dict(kwargs or {})
    fall_risk = bool(out.get("fall_risk", False))
    check_variant(goal, variant, fall_risk=fall_risk)
    if variant.get("instrument") is not None and out.get("instrument") is None:
        out["instrument"] = variant["instrument"]
    key_mode = parse_key(out["key"])[1] if out.get("key") is not None else None
    if (
        variant.get("mode") is not None
        and out.get("mode") is None
        and key_mode is None
        and goal not in FIXED_MODE
    ):
        out["mode"] = variant["mode"]
    if goal == "gait" and out.get("gait_target") is None:
        out["gait_target"] = gait_target(float(variant.get("tempo_offset", 0.0)), fall_risk)
    return out


def apply_variant(prescription: Prescription, variant: Mapping[str, Any]) -> Prescription:
    """The prescription with the variant's tempo offset and density factor applied to its bars.

    For the iso goals every bar's tempo is scaled by ``1 + tempo_offset`` (the plan's shape,
    and so its rate limits and direction, are kept) and the bar count is adjusted so the
    session keeps its length (the plan's last bar is held, or the end trimmed). Gait's tempo
    comes from the RAS target (:func:`variant_kwargs`), so only density changes there. The
    result is a new :class:`Prescription`, re-validated by its safety rails.
    """
    check_variant(prescription.goal, variant, fall_risk=prescription.fall_risk)
    factor = 1.0 if prescription.goal == "gait" else 1.0 + float(variant.get("tempo_offset", 0.0))
    density = float(variant.get("density", 1.0))
    if factor == 1.0 and density == 1.0:
        return prescription
    bars = [
        replace(
            b,
            tempo_bpm=min(max(b.tempo_bpm * factor, 20.0), 300.0),
            density=min(max(b.density * density, 0.0), 16.0),
        )
        for b in prescription.bars
    ]
    beats = prescription.beats_per_bar
    total_s = prescription.minutes * 60.0
    kept: list[BarControl] = []
    t = 0.0
    for bar in bars:
        dur = beats * 60.0 / bar.tempo_bpm
        if kept and t + dur / 2.0 > total_s:
            break
        kept.append(bar)
        t += dur
    while True:  # a faster plan ends early: hold its last bar (the target) to the end
        dur = beats * 60.0 / kept[-1].tempo_bpm
        if t + dur / 2.0 > total_s:
            break
        kept.append(kept[-1])
        t += dur
    return replace(prescription, bars=tuple(kept))


def known_instruments(names: Iterable[str | int]) -> tuple[int, ...]:
    """The General MIDI programs of the names that parse (free-text preferences such as
    "soft jazz" that name no instrument are left out)."""
    out = []
    for name in names:
        try:
            out.append(parse_instrument(name))
        except CadenceError:
            continue
    return tuple(dict.fromkeys(out))


def favourite_kwargs(goal: str, seeds: Mapping[str, Any]) -> dict[str, Any]:
    """``Prescription.for_goal`` arguments seeded by a favourite song's analysis
    (:func:`cadence.music.audio_analysis.prescription_seeds`).

    - ``key``: the song's tonic (not its mode: the mode is the variant's, within the goal's
      rules). ENGINEERING: a familiar key is a cheap nod to the patient's taste.
    - ``arousal``: for pain only, the song's arousal as the patient's preferred arousal:
      personal arousal preferences shape pain relief (Basinski2021). For the iso goals the
      start state is the patient's present state (Altshuler1948), which a favourite song does
      not measure, so it is not used there.
    """
    out: dict[str, Any] = {}
    tonic = seeds.get("key_tonic")
    if isinstance(tonic, int) and 0 <= tonic <= 11:
        out["key"] = PITCH_NAMES[tonic]
    arousal = seeds.get("arousal")
    if goal == "pain" and isinstance(arousal, int | float) and -1.0 <= arousal <= 1.0:
        out["arousal"] = float(arousal)
    return out


def prescribe(goal: str, minutes: float, variant: Mapping[str, Any], **kwargs: Any) -> Prescription:
    """``Prescription.for_goal(goal, minutes, **kwargs)`` played as ``variant``."""
    p = Prescription.for_goal(goal, minutes, **variant_kwargs(goal, variant, kwargs))
    return apply_variant(p, variant)
