"""One request plus a patient's history → the plan of one session.

:func:`plan_session` is the only place a session is personalised; ``cadence session --patient``,
the API and the web job all call it. The history arrives as plain data (``clinic/history.py``
hands over a ``PatientHistory``; any object with the same attributes will do), so therapy/
never imports clinic/. What it uses:

- the latest baseline: resting heart rate as the iso principle's start state (Altshuler 1948),
  walking cadence as gait's start tempo (RAS, PMC8801707), and a recorded fall risk, which
  can only tighten the plan (no tempo increase; THERAPY.md safety rails);
- the birth year (cognition: the reminiscence years, Rao 2021);
- the stated preferences and past sessions: the preference model's variant (Thompson sampling,
  ``preferences.py``) and the reason it gives;
- the favourite songs: an audio favourite seeds the key (and, for pain, the preferred arousal);
  a symbolic one primes cognition sessions;
- the patient's fine-tuned adapter, passed in by the caller (it is a file, not history).

What the clinician set in the request always wins over what the history suggests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cadence.errors import CadenceError
from cadence.music.audio_analysis import AUDIO_SUFFIXES
from cadence.music.formats import SUPPORTED_SUFFIXES
from cadence.therapy.checks import FieldError
from cadence.therapy.instruments import parse_instrument, parse_key
from cadence.therapy.preferences import (
    FIXED_MODE,
    PreferenceModel,
    favourite_kwargs,
    instrument_name,
    known_instruments,
    prescribe,
)
from cadence.therapy.prescription import Prescription
from cadence.therapy.request import BY_NAME, SessionRequest
from cadence.therapy.session_plan import SessionPlan


def plan_session(
    request: SessionRequest, history: Any = None, *, adapter: Path | None = None
) -> SessionPlan:
    """The plan for ``request``; personalised when ``history`` (the patient's, as plain data)
    is given. Raises FieldError naming the input on a bad value, a baseline value included."""
    if history is None:
        prescription = Prescription.for_goal(
            request.goal, request.minutes, seed=request.seed, **request.inputs
        )
        return SessionPlan(
            prescription=prescription, model=request.model, primer=request.primer,
            primer_mode=request.primer_mode, sampling=request.sampling,
            formats=request.formats, request=request,
        )  # fmt: skip
    goal = request.goal
    notes: list[str] = []
    inputs = {**_from_records(goal, history, notes), **request.inputs}
    if goal == "gait" and _baseline(history, "fall_risk"):
        inputs["fall_risk"] = True  # a recorded fall risk is never lifted by a request
    for name, value in _from_favourite(goal, history, notes).items():
        inputs.setdefault(name, value)
    model = PreferenceModel.from_history(
        history.sessions,
        liked_instruments=_preferred(history, "liked_instruments"),
        disliked_instruments=_preferred(history, "disliked_instruments"),
    )
    rng = np.random.default_rng([request.seed, len(history.sessions)])
    fall_risk = bool(inputs.get("fall_risk"))
    variant = model.suggest(goal, rng, fall_risk=fall_risk, fixed=_fixed(goal, inputs))
    prescription = prescribe(goal, request.minutes, variant, seed=request.seed, **inputs)
    played = played_variant(variant, prescription)
    primer = request.primer
    if primer is None and goal == "cognition":
        tunes = [f for f in history.favourites if f.suffix.lower() in SUPPORTED_SUFFIXES]
        if tunes:
            primer = Path(tunes[0].path)
            notes.append("primer: the patient's favourite tune")
    return SessionPlan(
        prescription=prescription, model=request.model, primer=primer,
        primer_mode=request.primer_mode, sampling=request.sampling, formats=request.formats,
        patient=history.code, variant=played, adapter=adapter, notes=tuple(notes),
        reason=explain(played, history.sessions), request=request,
        personal={k: v for k, v in inputs.items() if request.inputs.get(k) != v},
    )  # fmt: skip


def _baseline(history: Any, name: str) -> Any:
    return getattr(history.baseline, name, None) if history.baseline is not None else None


def _preferred(history: Any, name: str) -> tuple[int, ...]:
    prefs = history.preferences
    return known_instruments(getattr(prefs, name)) if prefs is not None else ()


def _from_records(goal: str, history: Any, notes: list[str]) -> dict[str, Any]:
    """Inputs the records give: the baseline's heart rate (and cadence for gait) and the birth
    year (cognition), each checked against its input's bounds. A value out of bounds is a
    FieldError that names the input and says it came from the baseline."""
    found = {"heart_rate": _baseline(history, "resting_heart_rate")}
    if goal == "gait":
        found["cadence_spm"] = _baseline(history, "cadence_spm")
    if goal == "cognition":
        found["birth_year"] = history.birth_year
    out: dict[str, Any] = {}
    for name, value in found.items():
        if value is None:
            continue
        spec = BY_NAME[name]
        try:
            out[name] = spec.check(value)
        except FieldError:
            where = "birth year" if name == "birth_year" else "baseline"
            raise FieldError(
                name, f"{name}: the patient's recorded {where} value {value:g} is outside "
                f"{spec.bounds}; record a new one or give {spec.option}",
            ) from None  # fmt: skip
    if out.get("heart_rate") is not None:
        notes.append(f"baseline heart rate {out['heart_rate']:g} BPM")
    if out.get("cadence_spm") is not None:
        notes.append(f"baseline cadence {out['cadence_spm']:g} steps/min")
    return out


def _from_favourite(goal: str, history: Any, notes: list[str]) -> dict[str, Any]:
    """Key (and for pain, arousal) seeded by the first audio favourite; an unreadable file is
    noted and never blocks a session."""
    from cadence.music.audio_analysis import analyze_audio, prescription_seeds

    songs = [f for f in history.favourites if f.suffix.lower() in AUDIO_SUFFIXES]
    if not songs:
        return {}
    try:
        seeds = prescription_seeds(analyze_audio(songs[0].path))
    except CadenceError:
        notes.append("favourite song unreadable, not used")
        return {}
    notes.append(f"favourite song: {seeds['key']}, {seeds['tempo_bpm']:.0f} BPM")
    return favourite_kwargs(goal, seeds)


def _fixed(goal: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The variant dimensions the inputs already decide (the clinician's choice wins)."""
    fixed: dict[str, Any] = {}
    if inputs.get("instrument") is not None:
        fixed["instrument"] = parse_instrument(inputs["instrument"])
    key_mode = parse_key(inputs["key"])[1] if inputs.get("key") is not None else None
    if (inputs.get("mode") is not None or key_mode is not None) and goal not in FIXED_MODE:
        fixed["mode"] = inputs.get("mode") or key_mode
    if goal == "gait" and inputs.get("gait_target") is not None:
        fixed["tempo_offset"] = 0.0  # the clinician set the RAS target
    return fixed


def played_variant(variant: dict[str, Any], prescription: Prescription) -> dict[str, Any]:
    """The variant as played: the clinician's explicit instrument or mode (which win over the
    suggestion) replace the suggested ones, so the learner learns from what the patient heard."""
    return {**variant, "instrument": prescription.programs["melody"], "mode": prescription.mode}


def explain(variant: dict[str, Any], sessions: Sequence[Any]) -> str:
    """Why this variant, in a clinician's words: how the patient rated sessions with its
    instrument, e.g. "piano preferred: 4.5 average over 3 rated sessions"."""
    name = instrument_name(variant["instrument"])
    rated = [s for s in sessions if s.variant and s.rating is not None]
    if not rated:
        return f"{name}: no rated sessions yet, so the preference model is still exploring"
    same = [s.rating for s in rated if s.variant.get("instrument") == variant["instrument"]]
    others = [s.rating for s in rated if s.variant.get("instrument") != variant["instrument"]]
    if not same:
        return (f"{name}: not rated yet; trying it (other instruments: "
                f"{_mean(others):.1f} average over {_count(others)})")  # fmt: skip
    verdict = "preferred" if not others or _mean(same) >= _mean(others) else "being re-tried"
    text = f"{name} {verdict}: {_mean(same):.1f} average over {_count(same)}"
    if others:
        text += f" (others: {_mean(others):.1f} over {_count(others)})"
    return text


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values))


def _count(values: Sequence[float]) -> str:
    return f"{len(values)} rated session{'s' if len(values) != 1 else ''}"
