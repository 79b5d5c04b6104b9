"""Reports through :mod:`cadence.clinic.reports`: per patient and per goal, paired statistics
per outcome measure, trend and change plots (PNG, SVG), CSV and a FHIR R4 bundle."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from cadence.clinic import reports
from cadence.clinic.actors import Actor
from cadence.clinic.errors import NotFound
from cadence.web.deps import ApiCaller, Db, State

router = APIRouter(tags=["reports"])

# URL name -> (the key in Report.files, media type)
REPORT_FILES = {
    "trends.png": ("trends_png", "image/png"),
    "trends.svg": ("trends_svg", "image/svg+xml"),
    "changes.png": ("changes_png", "image/png"),
    "changes.svg": ("changes_svg", "image/svg+xml"),
    "outcomes.csv": ("outcomes_csv", "text/csv"),
    "stats.csv": ("stats_csv", "text/csv"),
    "observations.fhir.json": ("fhir", "application/fhir+json"),
}
DOWNLOADS = ("outcomes.csv", "stats.csv", "observations.fhir.json")
# The report files' media types, declared in the OpenAPI schema (schemathesis checks them).
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {"schema": {"type": "string", "format": "binary"}}
                      for _, media in REPORT_FILES.values()}},
    404: {"description": "no such report or file"},
}  # fmt: skip


def report_dict(report: reports.Report, base: str) -> dict[str, Any]:
    """The report as JSON: statistics per measure, the pairs, and links to its files."""
    out = report.to_dict()
    out.pop("files", None)
    out["pairs"] = {m: [asdict(p) for p in ps] for m, ps in report.pairs.items()}
    out["links"] = {name: f"{base}/{name}" for name in REPORT_FILES}
    return out


def patient_report(db: Db, actor: Actor, code: str, folder: Path) -> reports.Report:
    return reports.patient_report(db, actor, code, folder)


def _file(report: reports.Report, name: str) -> Response:
    if name not in REPORT_FILES:
        raise NotFound(f"no report file {name!r}")
    key, media = REPORT_FILES[name]
    path = report.files.get(key)
    if path is None:
        raise NotFound(f"no report file {name!r}")
    headers = {"Cache-Control": "no-store"}
    if name in DOWNLOADS:
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(Path(path).read_bytes(), media_type=media, headers=headers)


@router.get("/patients/{code}/report")
def get_patient_report(code: str, caller: ApiCaller, db: Db, state: State) -> dict[str, Any]:
    """Paired before/after statistics per measure for one patient, with links to the files."""
    with state.settings.scratch("report-") as folder:
        report = patient_report(db, caller.actor, code, Path(folder))
    return report_dict(report, f"/api/v1/patients/{code}/report")


@router.get("/patients/{code}/report/{name}", responses=FILE_RESPONSES)
def get_patient_report_file(
    code: str, name: str, caller: ApiCaller, db: Db, state: State
) -> Response:
    """One file of the patient's report: trends.png/.svg, changes.png/.svg, outcomes.csv,
    stats.csv, observations.fhir.json (FHIR R4 bundle)."""
    with state.settings.scratch("report-") as folder:
        return _file(patient_report(db, caller.actor, code, Path(folder)), name)


@router.get("/reports/goals/{goal}")
def get_goal_report(goal: str, caller: ApiCaller, db: Db, state: State) -> dict[str, Any]:
    """Across the patients the caller may see: one mean pair per patient and measure."""
    with state.settings.scratch("report-") as folder:
        report = reports.goal_report(db, caller.actor, goal, Path(folder))
    return report_dict(report, f"/api/v1/reports/goals/{goal}")


@router.get("/reports/goals/{goal}/{name}", responses=FILE_RESPONSES)
def get_goal_report_file(
    goal: str, name: str, caller: ApiCaller, db: Db, state: State
) -> Response:
    with state.settings.scratch("report-") as folder:
        return _file(reports.goal_report(db, caller.actor, goal, Path(folder)), name)
