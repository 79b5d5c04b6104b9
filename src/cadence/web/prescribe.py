"""The session form: which prescription inputs a clinician may set, within which bounds.

The bounds come from therapy/ (the same constants its checks use), so the form's ``min``/``max``
and the server-side check through :meth:`Prescription.for_goal` can never disagree; for_goal
remains the judge, and its CadenceError names the field that is out of bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cadence.errors import CadenceError
from cadence.therapy import Prescription, ras
from cadence.therapy.checks import HEART_RATE_MAX, HEART_RATE_MIN, MINUTES_MAX
from cadence.therapy.goals import GOALS
from cadence.therapy.request import BIRTH_YEAR_MAX, BIRTH_YEAR_MIN, BREATHING_MAX, BREATHING_MIN

ALL = tuple(GOALS)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # "number" | "int" | "text" | "mode" | "bool"
    low: float | None = None
    high: float | None = None
    step: str = "any"
    goals: tuple[str, ...] = ALL
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field("minutes", "Length (minutes)", "number", 0.1, MINUTES_MAX, "0.1"),
    Field(
        "cadence_spm",
        "Walking cadence (steps/min)",
        "number",
        ras.CADENCE_MIN,
        ras.CADENCE_MAX,
        "1",
        ("gait",),
        "measured preferred cadence; one beat per step",
    ),
    Field("fall_risk", "Fall risk: never raise the tempo", "bool", goals=("gait",)),
    Field(
        "gait_step",
        "Tempo step (share)",
        "number",
        ras.STEP_MIN,
        ras.STEP_MAX,
        "0.01",
        ("gait",),
        "RAS steps of 5-10%",
    ),
    Field(
        "gait_target",
        "Final tempo change (share)",
        "number",
        ras.OFFSET_MIN,
        ras.OFFSET_MAX,
        "0.01",
        ("gait",),
        "tested from -12% to +12%",
    ),
    Field(
        "heart_rate",
        "Heart rate now (BPM)",
        "number",
        HEART_RATE_MIN,
        HEART_RATE_MAX,
        "1",
        ("sleep", "anxiety", "mood", "pain"),
        "the iso principle's start state",
    ),
    Field("arousal", "Arousal now (-1..1)", "number", -1.0, 1.0, "0.05"),
    Field("valence", "Valence now (-1..1)", "number", -1.0, 1.0, "0.05"),
    Field(
        "breathing_rate",
        "Resting breathing (breaths/min)",
        "number",
        BREATHING_MIN,
        BREATHING_MAX,
        "0.5",
        ("sleep", "anxiety", "pain"),
        "cue at 75% of it (Leslie 2019)",
    ),
    Field(
        "birth_year",
        "Birth year",
        "int",
        BIRTH_YEAR_MIN,
        BIRTH_YEAR_MAX,
        "1",
        ("cognition",),
        "reminiscence: the years of ages 13-19",
    ),
    Field("key", "Key (e.g. C, F#, Bb)", "text"),
    Field("mode", "Mode", "mode"),
    Field("instrument", "Melody instrument (GM name or 0-127)", "text"),
    Field("seed", "Seed", "int", 0, 2**31 - 1, "1", help="the same seed gives the same music"),
)
NAMES = tuple(f.name for f in FIELDS)
# CadenceError field names that differ from the form's.
ALIASES = {"cadence": "cadence_spm", "key_tonic": "key", "programs['melody']": "instrument"}


def range_message(f: Field) -> str:
    """The form's words for a bad value: 'Length (minutes) must be between 0.1 and 120'."""
    whole = "a whole number " if f.kind == "int" else ""
    if f.low is None or f.high is None:
        return f"{f.label} must be {whole or 'a number'}".strip()
    return f"{f.label} must be {whole}between {f.low:g} and {f.high:g}"


def _number(raw: str, whole: bool) -> float | int | None:
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        return None


def _within(f: Field, value: float) -> bool:
    return (f.low is None or value >= f.low) and (f.high is None or value <= f.high)


def parse_form(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form strings to for_goal keyword values; errors, in the form's words, for what is not
    a number or lies outside the field's bounds."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        raw = (form.get(f.name) or "").strip()
        if f.kind == "bool":
            values[f.name] = raw in ("on", "true", "1", "yes")
            continue
        if raw == "":
            continue
        if f.kind in ("number", "int"):
            value = _number(raw, f.kind == "int")
            if value is None or not _within(f, value):
                errors[f.name] = range_message(f)
            else:
                values[f.name] = value
        else:
            values[f.name] = raw
    return values, errors


def error_field(err: CadenceError) -> str:
    """The form field an error from for_goal names; "" for the form as a whole."""
    head = str(err).split(":", 1)[0].strip()
    head = ALIASES.get(head, head)
    return head if head in NAMES or head == "goal" else ""


def prescribe(goal: str, values: dict[str, Any]) -> Prescription:
    """Prescription.for_goal with these inputs; values for fields the goal does not use are
    dropped. Raises CadenceError naming the field."""
    if goal not in GOALS:
        raise CadenceError(f"goal: got {goal!r}; must be one of {', '.join(GOALS)}")
    used = {f.name for f in FIELDS if goal in f.goals}
    kwargs = {k: v for k, v in values.items() if k in used and k != "minutes"}
    if "minutes" not in values:
        raise CadenceError("minutes: got nothing; give the session length in minutes")
    return Prescription.for_goal(goal, values["minutes"], **kwargs)


def inputs_of(values: dict[str, Any], goal: str) -> dict[str, Any]:
    """The stored job parameters: for_goal's keyword arguments (minutes included)."""
    used = {f.name for f in FIELDS if goal in f.goals}
    return {k: v for k, v in values.items() if k in used}
