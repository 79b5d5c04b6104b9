"""Outcome measures before and after a session, with the ranges of their scales.

The measures are the ones clinicians use per goal (THERAPY.md, "Outcome measures clinicians
use"): mood on a 0–100 visual analogue scale; anxiety on the STAI-6 short form, six items
scored 1–4 and prorated to the full STAI range as total × 20/6 (Marteau & Bekker 1992, Br J
Clin Psychol 31:301–306), so 20–80; pain on a 0–10 numeric rating scale; heart rate before and
after; gait by cadence and gait speed (10-metre walk test; THERAPY.md RAS screening); sleep by
sleep-onset latency and a quality rating; and, for every session, engagement and liking on a
1–5 scale.

Where THERAPY.md gives no range (heart rate, cadence, gait speed, sleep-onset latency, sleep
quality) the bounds below are ENGINEERING plausibility limits, not clinical sources: heart rate
and cadence use the same ranges as ``cadence session --heart-rate/--cadence`` (README); gait
speed 0–3 m/s brackets human walking (fast adult walking is about 2.5 m/s); sleep-onset latency
0–240 min; sleep quality 1–5 like the other ratings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit, validate
from cadence.clinic.access import patient_row
from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue, NotFound
from cadence.clinic.models import Outcome, TherapySession
from cadence.clinic.views import OutcomeView

PHASES = ("before", "after")


@dataclass(frozen=True)
class Measure:
    unit: str
    low: float
    high: float
    source: str
    integer: bool = False
    # +1 when a higher value is better, -1 when lower is better, 0 when neither (heart rate).
    better: int = 0
    title: str = ""  # what a clinician calls it: "Mood"
    words: str = ""  # the scale in words, after its range: "on a visual analogue scale"

    @property
    def label(self) -> str:
        """'Mood (0–100, on a visual analogue scale)': the name and scale a form shows."""
        return f"{self.title} ({self.low:g}–{self.high:g}, {self.words})"


MEASURES: dict[str, Measure] = {
    "mood_vas": Measure("0-100 VAS", 0, 100, "THERAPY.md: mood, 0-100 visual analogue scale",
                        better=+1, title="Mood", words="visual analogue scale"),
    "stai6": Measure(
        "STAI-6 prorated score", 20, 80,
        "THERAPY.md: STAI-6, six items 1-4, total x 20/6 (Marteau & Bekker 1992)", better=-1,
        title="Anxiety, STAI-6", words="prorated score",
    ),
    "pain_nrs": Measure("0-10 NRS", 0, 10, "THERAPY.md: pain, 0-10 numeric rating scale",
                        integer=True, better=-1, title="Pain",
                        words="numeric rating scale"),
    "heart_rate": Measure("beats/min", 30, 220,
                          "THERAPY.md: heart rate before and after; range ENGINEERING",
                          title="Heart rate", words="beats per minute"),
    "cadence_spm": Measure("steps/min", 30, 200,
                           "THERAPY.md: gait, cadence; range ENGINEERING", better=+1,
                           title="Walking cadence", words="steps per minute"),
    "gait_speed": Measure("m/s", 0, 3,
                          "THERAPY.md: gait speed (10-metre walk test); range ENGINEERING",
                          better=+1, title="Gait speed", words="metres per second"),
    "sleep_onset_min": Measure("min", 0, 240,
                               "THERAPY.md: sleep-onset latency; range ENGINEERING", better=-1,
                               title="Time to fall asleep", words="minutes"),
    "sleep_quality": Measure("1-5 rating", 1, 5,
                             "THERAPY.md: sleep quality rating; 1-5 scale ENGINEERING",
                             integer=True, better=+1, title="Sleep quality",
                             words="1 = very poor, 5 = very good"),
    "engagement": Measure("1-5 rating", 1, 5, "THERAPY.md: engagement, 1-5 every session",
                          integer=True, better=+1, title="Engagement",
                          words="1 = not at all, 5 = very much"),
    "liking": Measure("1-5 rating", 1, 5, "THERAPY.md: liking, 1-5 every session",
                      integer=True, better=+1, title="Liking",
                      words="1 = not at all, 5 = very much"),
}

STAI6_ITEMS = 6
STAI6_ITEM_RANGE = (1, 4)


def stai6_score(items: Sequence[int]) -> float:
    """The prorated STAI-6 score: six items scored 1–4 (positive items already reversed),
    total × 20/6, in 20–80 (THERAPY.md; Marteau & Bekker 1992)."""
    values = list(items)
    if len(values) != STAI6_ITEMS:
        raise InvalidValue(f"stai6 items: got {len(values)} items; the STAI-6 has six")
    for i, item in enumerate(values, 1):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 4:
            raise InvalidValue(f"stai6 item {i}: got {item!r}; each item is scored 1..4")
    return sum(values) * 20 / 6


def outcome_view(code: str, row: Outcome) -> OutcomeView:
    return OutcomeView(
        id=row.id, patient_code=code, measure=row.measure, phase=row.phase, value=row.value,
        unit=MEASURES[row.measure].unit if row.measure in MEASURES else "",
        items=tuple(row.items) if row.items is not None else None, session_id=row.session_id,
        recorded_by=row.recorded_by, recorded_at=row.recorded_at,
    )


def check_value(measure: str, value: float) -> float:
    """``value`` if it lies on ``measure``'s scale; :class:`InvalidValue` otherwise."""
    spec = MEASURES.get(measure)
    if spec is None:
        raise InvalidValue(f"measure: got {measure!r}; must be one of {', '.join(MEASURES)}")
    checked = validate.number(measure, value, spec.low, spec.high, integer=spec.integer)
    assert checked is not None
    return checked


def add_outcome(
    db: Session,
    actor: Actor,
    code: str,
    *,
    measure: str,
    phase: str,
    value: float | None = None,
    session_id: int | None = None,
    items: Sequence[int] | None = None,
) -> OutcomeView:
    """Record one measurement. For ``stai6`` give either the six ``items`` (scored here) or
    the prorated ``value``; every other measure takes ``value`` only."""
    if phase not in PHASES:
        raise InvalidValue(f"phase: got {phase!r}; must be before or after")
    if measure not in MEASURES:
        raise InvalidValue(f"measure: got {measure!r}; must be one of {', '.join(MEASURES)}")
    item_list: list[int] | None = None
    if items is not None:
        if measure != "stai6":
            raise InvalidValue(f"items: only stai6 is scored from items, not {measure}")
        item_list = list(items)
        score = stai6_score(item_list)
        if value is not None and not math.isclose(value, score, abs_tol=1e-6):
            raise InvalidValue(f"stai6: value {value} disagrees with its items ({score:.2f})")
        value = score
    if value is None:
        raise InvalidValue(f"{measure}: give a value")
    checked = check_value(measure, value)
    row = patient_row(db, actor, code)
    if session_id is not None:
        owner = db.scalar(select(TherapySession.patient_id)
                          .where(TherapySession.id == session_id)
                          ) if validate.is_id("session_id", session_id) else None
        if owner != row.id:
            raise NotFound(f"no session {session_id} for patient {row.code}")
    outcome = Outcome(patient_id=row.id, session_id=session_id, measure=measure, phase=phase,
                      value=checked, items=item_list, recorded_by=actor.username)
    db.add(outcome)
    db.flush()
    audit.record(db, actor, "create", "outcomes", outcome.id, patient_code=row.code,
                 detail=f"{measure} {phase}")
    return outcome_view(row.code, outcome)


def list_outcomes(db: Session, actor: Actor, code: str) -> list[OutcomeView]:
    """The patient's outcomes, oldest first."""
    row = patient_row(db, actor, code)
    rows = db.scalars(select(Outcome).where(Outcome.patient_id == row.id).order_by(Outcome.id))
    audit.record(db, actor, "read", "outcomes", patient_code=row.code)
    return [outcome_view(row.code, r) for r in rows]


def changes(outcomes: Sequence[OutcomeView]) -> dict[str, float]:
    """Per measure, after − before, from the latest 'before' and 'after' of each measure."""
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for o in outcomes:
        (before if o.phase == "before" else after)[o.measure] = o.value
    return {m: after[m] - before[m] for m in sorted(before.keys() & after.keys())}
