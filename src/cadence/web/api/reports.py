"""A patient's report: outcome changes per measure with paired statistics, and its plot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from cadence.clinic import feedback, outcomes, patients, sessions
from cadence.clinic.actors import Actor
from cadence.web.deps import ApiCaller, Db
from cadence.web.report import PatientReport, build_report, plot_png

router = APIRouter(tags=["reports"])


def patient_report(db: Db, actor: Actor, code: str) -> PatientReport:
    patient = patients.get_patient(db, actor, code)
    views = sessions.list_sessions(db, actor, code)
    ratings = {s.id: [f.rating for f in feedback.list_feedback(db, actor, s.id)] for s in views}
    return build_report(patient.code, views, outcomes.list_outcomes(db, actor, code), ratings)


@router.get("/patients/{code}/report")
def get_report(code: str, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return patient_report(db, caller.actor, code).to_dict()


@router.get(
    "/patients/{code}/report/plot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_report_plot(code: str, caller: ApiCaller, db: Db) -> Response:
    png = plot_png(patient_report(db, caller.actor, code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
