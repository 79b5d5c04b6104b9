"""The new-session form, built from therapy/request.py's one list of inputs.

Which inputs a goal shows, their labels, units, bounds and steps all come from
:data:`cadence.therapy.request.FIELDS`, so the form's ``min``/``max``, the API's schema, the
CLI's options and the server-side check can never disagree. The form adds only what a browser
needs: strings parsed into values, and each error in the form's words under its field.
"""

from __future__ import annotations

from typing import Any

from cadence.therapy.checks import FieldError
from cadence.therapy.request import BY_NAME, Input, inputs_for


def form_fields(goal: str) -> tuple[Input, ...]:
    """The form's inputs for ``goal``: the length, the goal's prescription inputs, the seed."""
    return (BY_NAME["minutes"], *inputs_for(goal), BY_NAME["seed"])


def form_names() -> set[str]:
    """Every name a session form may post, over all goals."""
    from cadence.therapy.goals import GOALS

    return {f.name for goal in GOALS for f in form_fields(goal)}


def range_message(f: Input) -> str:
    """The form's words for a bad value: 'Length must be a number from 0 to 180 min (session
    length, above 0)'."""
    kind = "a whole number" if f.kind == "int" else "a number"
    if not f.bounds:
        return f"{f.label}: give {kind}"
    return f"{f.label} must be {kind} from {f.bounds}" + (f" ({f.help})" if f.help else "")


def field_message(err: FieldError) -> str:
    """A FieldError under its field: the message without its leading input name."""
    text = str(err)
    head, _, rest = text.partition(": ")
    return rest if rest and head == err.field else text


def _number(raw: str, whole: bool) -> float | int | None:
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        return None


def parse_form(form: dict[str, str], goal: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The goal's form strings as values named as FIELDS, each checked by its Input; errors in
    the form's words, by field. Empty fields are left out (the goal's default, or the patient's
    record)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in form_fields(goal):
        raw = (form.get(f.name) or "").strip()
        if f.kind == "bool":
            if raw in ("on", "true", "1", "yes"):
                values[f.name] = True
            continue
        if raw == "":
            continue
        value: Any = raw
        if f.kind in ("number", "int"):
            value = _number(raw, f.kind == "int")
            if value is None:
                errors[f.name] = range_message(f)
                continue
        try:
            values[f.name] = f.check(value)
        except FieldError as err:
            errors[f.name] = range_message(f) if f.kind in ("number", "int") else field_message(err)
    return values, errors
