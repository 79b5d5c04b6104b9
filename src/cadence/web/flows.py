"""What the API and the pages both do: submit a session job, describe jobs and sessions."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from cadence.clinic import patients
from cadence.clinic.actors import Actor
from cadence.clinic.errors import ConsentRequired, NotFound
from cadence.web.jobs import QueueFull
from cadence.web.prescribe import inputs_of, prescribe
from cadence.web.state import WebState
from cadence.web.store import Job


def submit_session(
    db: Session,
    state: WebState,
    actor: Actor,
    code: str,
    goal: str,
    values: dict[str, Any],
    *,
    sampling: dict[str, Any] | None = None,
    favourite_id: int | None = None,
) -> Job:
    """Check the patient (visible to the actor, consent given) and the prescription, then save
    the job and hand it to the runner. Raises NotFound, ConsentRequired, CadenceError naming the
    field, or QueueFull, each before anything is saved."""
    patient = patients.get_patient(db, actor, code)
    if not has_consent(patient):
        raise ConsentRequired(f"patient {code}: record consent before creating sessions")
    values = dict(values)
    if values.get("seed") is None:
        values["seed"] = secrets.randbelow(2**31)
    prescribe(goal, values)  # raises CadenceError naming the field
    params = inputs_of(values, goal) | {"seed": values["seed"]}
    runner = state.runner
    runner.reserve()
    saved = False
    try:
        job = Job(
            patient_code=patient.code,
            clinician_id=actor.clinician_id,
            username=actor.username,
            role=actor.role,
            goal=goal,
            params=params,
            sampling=sampling or {},
            favourite_id=favourite_id,
            runner=runner.name,
            worker=_submitter(runner.name),
        )
        db.add(job)
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
