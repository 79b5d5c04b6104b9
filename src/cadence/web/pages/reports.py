"""The patient report page: outcome changes with their statistics and the plot."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import patients
from cadence.web.api.reports import patient_report
from cadence.web.deps import Db, PageCaller, State
from cadence.web.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/patients/{code}/report", response_class=HTMLResponse)
def report_page(code: str, request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    patient = patients.get_patient(db, caller.actor, code)
    report = patient_report(db, caller.actor, code)
    return render(
        request, state, "report.html", {"patient": patient, "report": report}, caller=caller
    )
