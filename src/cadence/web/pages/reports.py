"""The patient report page: paired statistics per measure, ratings, trend and change plots,
and the exports (CSV, FHIR)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import feedback, patients, sessions
from cadence.web.api.reports import DOWNLOADS, patient_report, report_dict
from cadence.web.deps import Db, PageCaller, State
from cadence.web.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/patients/{code}/report", response_class=HTMLResponse)
def report_page(code: str, request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    patient = patients.get_patient(db, caller.actor, code)
    with state.settings.scratch("report-") as folder:
        report = report_dict(
            patient_report(db, caller.actor, code, Path(folder)),
            f"/api/v1/patients/{code}/report",
        )
    rated = []
    for s in sessions.list_sessions(db, caller.actor, code):
        ratings = [f.rating for f in feedback.list_feedback(db, caller.actor, s.id)]
        rated.append({"id": s.id, "goal": s.goal, "created_at": s.created_at, "ratings": ratings})
    context = {"patient": patient, "report": report, "sessions": rated, "downloads": DOWNLOADS}
    return render(request, state, "report.html", context, caller=caller)
