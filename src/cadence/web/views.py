"""Response schemas built from clinic views and web rows, field by field."""

from __future__ import annotations

from typing import Any

from cadence.web.flows import job_links
from cadence.web.schemas import JobOut, SessionOut
from cadence.web.store import Job, aware
from cadence.web.vocabulary import job_progress


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        stage=job.stage,
        progress=round(job.progress or 0.0, 4),
        bars_done=job.bars_done or 0,
        bars_total=job.bars_total or 0,
        progress_text=job_progress(
            job.status, job.stage, job.bars_done or 0, job.bars_total or 0, job.error
        ),
        patient_code=job.patient_code,
        goal=job.goal,
        session_id=job.session_id,
        error=job.error,
        created_at=aware(job.created_at),
        started_at=aware(job.started_at) if job.started_at else None,
        finished_at=aware(job.finished_at) if job.finished_at else None,
        links=job_links(job),
    )


def session_links(session_id: int, kinds: list[str]) -> dict[str, str]:
    links = {"self": f"/api/v1/sessions/{session_id}", "page": f"/sessions/{session_id}"}
    for kind in kinds:
        links[kind] = f"/api/v1/sessions/{session_id}/files/{kind}"
    return links


def session_out(view: Any) -> SessionOut:
    kinds = sorted(getattr(view, "files", {}) or {})
    return SessionOut(
        id=view.id,
        patient_code=view.patient_code,
        goal=view.goal,
        created_at=getattr(view, "created_at", None),
        prescription=dict(getattr(view, "prescription", {}) or {}),
        report=dict(getattr(view, "report", {}) or {}),
        files=kinds,
        links=session_links(view.id, kinds),
    )
