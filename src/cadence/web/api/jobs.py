"""Jobs: status and progress of session generation."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from cadence.web.deps import ApiCaller, Db, State
from cadence.web.flows import cancel_job, visible_job
from cadence.web.schemas import JobOut
from cadence.web.store import Job
from cadence.web.views import job_out

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[JobOut])
def list_jobs(caller: ApiCaller, db: Db, limit: int = 50) -> list[JobOut]:
    """The caller's latest jobs (an admin's: everyone's)."""
    query = select(Job).order_by(Job.id.desc()).limit(max(1, min(limit, 500)))
    if caller.actor.role != "admin":
        query = query.where(Job.clinician_id == caller.actor.clinician_id)
    return [job_out(j) for j in db.scalars(query).all()]


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: int, caller: ApiCaller, db: Db) -> JobOut:
    """One job: status queued | running | done | failed, stage, progress 0..1, and when done the
    session it made."""
    return job_out(visible_job(db, caller.actor, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    responses={409: {"description": "the job has finished already"}},
)
def cancel(job_id: int, caller: ApiCaller, db: Db, state: State) -> JobOut:
    """Cancel a queued or running job (it ends failed, stage "cancelled"); its slot and the
    clinician's quota are freed."""
    return job_out(cancel_job(db, state, caller.actor, job_id))
