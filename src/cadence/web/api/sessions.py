"""Sessions: create one from a goal (a job; 202), list a patient's, read one, preview a
prescription."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from cadence.clinic import sessions
from cadence.therapy.personalise import plan_session
from cadence.therapy.request import SessionRequest
from cadence.web.deps import ApiCaller, Db, State
from cadence.web.flows import job_links, submit_session
from cadence.web.schemas import JobOut, SessionIn, SessionOut
from cadence.web.views import job_out, session_out

router = APIRouter(tags=["sessions"])


@router.post(
    "/patients/{code}/sessions",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "no consent recorded"},
        422: {"description": "a prescription value out of its safe bounds"},
        503: {"description": "the job queue is full (Retry-After)"},
    },
)
def create_session(
    code: str, body: SessionIn, caller: ApiCaller, db: Db, state: State, response: Response
) -> JobOut:
    """Start composing a session for the patient; poll the job it returns."""
    values = body.model_dump(exclude={"favourite_id"}, exclude_none=True)
    job = submit_session(db, state, caller.actor, code, values, favourite_id=body.favourite_id)
    response.headers["Location"] = job_links(job)["self"]
    return job_out(job)


@router.get("/patients/{code}/sessions", response_model=list[SessionOut])
def list_sessions(code: str, caller: ApiCaller, db: Db) -> list[SessionOut]:
    return [session_out(s) for s in sessions.list_sessions(db, caller.actor, code)]


@router.get("/sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: int, caller: ApiCaller, db: Db) -> SessionOut:
    return session_out(sessions.get_session(db, caller.actor, session_id))


class PreviewOut(BaseModel):
    goal: str
    minutes: float
    bars: int
    summary: str
    prescription: dict[str, object]


@router.post("/prescriptions/preview", response_model=PreviewOut)
def preview(body: SessionIn, caller: ApiCaller) -> PreviewOut:
    """The prescription these inputs give, with every parameter's source; nothing is saved."""
    import json

    values = body.model_dump(exclude={"favourite_id"}, exclude_none=True)
    p = plan_session(SessionRequest.from_values(values)).prescription
    return PreviewOut(
        goal=p.goal,
        minutes=p.minutes,
        bars=len(p.bars),
        summary=p.summary(),
        prescription=json.loads(p.to_json()),
    )
