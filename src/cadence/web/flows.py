"""What the API and the pages both do: submit a session job, describe jobs and sessions."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cadence.clinic import patients
from cadence.clinic.actors import Actor
from cadence.clinic.errors import Conflict, ConsentRequired, NotFound
from cadence.clinic.models import Clinician
from cadence.clinic.planning import plan_for_patient
from cadence.therapy.request import SessionRequest
from cadence.web.jobs import QueueFull, QuotaReached
from cadence.web.recovery import UNFINISHED
from cadence.web.state import WebState
from cadence.web.store import Job, utcnow


def submit_session(
    db: Session,
    state: WebState,
    actor: Actor,
    code: str,
    values: dict[str, Any],
    *,
    favourite_id: int | None = None,
) -> Job:
    """Plan the session exactly as the job will (the patient visible to the actor, consent
    given, every value and the baseline checked: ``clinic.planning.plan_for_patient``), then
    save the job and hand it to the runner. ``values`` are named as therapy/request.py's
    FIELDS; without a seed one is drawn. Raises NotFound, ConsentRequired, FieldError naming
    the field, or QueueFull, each before anything is saved."""
    patient = patients.get_patient(db, actor, code)
    if not has_consent(patient):
        raise ConsentRequired(f"patient {code}: record consent before creating sessions")
    values = {k: v for k, v in values.items() if v is not None}
    values.setdefault("seed", secrets.randbelow(2**31))
    primer = None
    if favourite_id is not None:  # InvalidValue (422) now, not a job that fails later
        primer = Path(patients.get_favourite(db, actor, code, favourite_id).path)
    request = SessionRequest.from_values(values, primer=primer, patient=patient.code)
    plan_for_patient(db, actor, state.clinic.config, request)  # FieldError naming the field
    params = request.to_values()
    runner = state.runner
    runner.reserve()
    saved = False
    try:
        job = Job(
            patient_code=patient.code,
            clinician_id=actor.clinician_id,
            username=actor.username,
            role=actor.role,
            goal=request.goal,
            params=params,
            sampling={},
            favourite_id=favourite_id,
            runner=runner.name,
            worker=_submitter(runner.name),
        )
        db.add(job)
        _check_quota(db, state, actor)
        db.commit()  # the job row must exist before a worker looks for it
        saved = True
    finally:
        if not saved:
            runner.release()
    try:
        runner.submit(job.id)
    except QueueFull as err:
        job.status, job.stage, job.error = "failed", "failed", str(err)
        db.commit()
        raise
    return job


def _check_quota(db: Session, state: WebState, actor: Actor) -> None:
    """QuotaReached (429), with the new job rolled back, when the actor's unfinished jobs, the
    new one (added, not committed) included, pass ``jobs_per_clinician``.

    The count is race-free: PostgreSQL holds the clinician's row (``FOR UPDATE``) until the
    commit, so a second request counts after the first has committed; SQLite takes its one
    write lock at the flush of the new row, with the same effect."""
    limit = state.settings.jobs_per_clinician
    db.execute(select(Clinician.id).where(Clinician.id == actor.clinician_id).with_for_update())
    db.flush()
    counted = db.scalar(select(func.count(Job.id)).where(
        Job.clinician_id == actor.clinician_id, Job.status.in_(UNFINISHED))) or 0
    if counted > limit:
        db.rollback()
        waiting = counted - 1
        raise QuotaReached(
            state.runner.retry_after,
            f"you have {waiting} unfinished jobs, the most one clinician may have; wait for one "
            "to finish or cancel one (POST /api/v1/jobs/ID/cancel)",
        )


def cancel_job(db: Session, state: WebState, actor: Actor, job_id: int) -> Job:
    """Cancel the actor's unfinished job: its row is failed (stage "cancelled") at once and the
    runner stops it; Conflict when it has finished already."""
    job = visible_job(db, actor, job_id)
    done = db.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(UNFINISHED))
        .values(status="failed", stage="cancelled", error=f"cancelled by {actor.username}",
                finished_at=utcnow())
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"job {job_id} has finished ({job.status}); there is nothing to cancel")
    db.commit()
    db.refresh(job)
    state.runner.cancel(job.id)
    return job


def _submitter(runner: str) -> str | None:
    from cadence.web.jobs import this_process

    return this_process() if runner == "local" else None


def has_consent(patient: Any) -> bool:
    consent = getattr(patient, "consent", None)
    if isinstance(consent, bool):
        return consent
    return bool(getattr(consent, "given", False))


def visible_job(db: Session, actor: Actor, job_id: int) -> Job:
    """The job if this actor started it, or is an admin; NotFound otherwise."""
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    if actor.role in ("admin", "system") or job.clinician_id == actor.clinician_id:
        return job
    raise NotFound(f"job {job_id} not found")


def job_links(job: Job) -> dict[str, str]:
    links = {"self": f"/api/v1/jobs/{job.id}", "page": f"/jobs/{job.id}"}
    if job.session_id is not None:
        links["session"] = f"/api/v1/sessions/{job.session_id}"
        links["session_page"] = f"/sessions/{job.session_id}"
    return links
