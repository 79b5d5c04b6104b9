"""Outcome measures (before and after a session): the measures, and a patient's records."""

from __future__ import annotations

from fastapi import APIRouter, status

from cadence.clinic import outcomes
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import MeasureOut, OutcomeIn, OutcomeOut

router = APIRouter(tags=["outcomes"])


def measures() -> list[MeasureOut]:
    out = []
    for name, m in outcomes.MEASURES.items():
        fields = m if isinstance(m, dict) else getattr(m, "__dict__", {})
        if not fields and isinstance(m, tuple):
            fields = dict(zip(("unit", "low", "high", "source"), m, strict=False))
        out.append(
            MeasureOut(name=name, **{k: fields[k] for k in ("unit", "low", "high", "source")})
        )
    return out


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
    )
    return OutcomeOut.model_validate(view)
