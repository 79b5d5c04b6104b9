"""Outcome measures (before and after a session): the measures, and a patient's records."""

from __future__ import annotations

from fastapi import APIRouter, status

from cadence.clinic import outcomes
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import MeasureOut, OutcomeIn, OutcomeOut

router = APIRouter(tags=["outcomes"])


def measures() -> list[MeasureOut]:
    """The outcome measures clinic accepts, with their scales and sources."""
    return [
        MeasureOut(name=name, unit=m.unit, low=m.low, high=m.high, source=m.source)
        for name, m in outcomes.MEASURES.items()
    ]


@router.get("/outcomes/measures", response_model=list[MeasureOut])
def list_measures(caller: ApiCaller) -> list[MeasureOut]:
    return measures()


@router.get("/patients/{code}/outcomes", response_model=list[OutcomeOut])
def list_outcomes(code: str, caller: ApiCaller, db: Db) -> list[OutcomeOut]:
    return [OutcomeOut.model_validate(o) for o in outcomes.list_outcomes(db, caller.actor, code)]


@router.post(
    "/patients/{code}/outcomes", response_model=OutcomeOut, status_code=status.HTTP_201_CREATED
)
def add_outcome(code: str, body: OutcomeIn, caller: ApiCaller, db: Db) -> OutcomeOut:
    view = outcomes.add_outcome(
        db,
        caller.actor,
        code,
        measure=body.measure,
        phase=body.phase,
        value=body.value,
        session_id=body.session_id,
        items=body.items,
    )
    return OutcomeOut.model_validate(view)
