"""Feedback: a rating (1-5) and comment for a session; the ratings and comments of a session
or a patient (read by their clinician, audited; comments are stored encrypted)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cadence.clinic import feedback
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import FeedbackIn, FeedbackOut

router = APIRouter(tags=["feedback"])


@router.post(
    "/sessions/{session_id}/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
)
def add_feedback(session_id: int, body: FeedbackIn, caller: ApiCaller, db: Db) -> FeedbackOut:
    view = feedback.add_feedback(
        db, caller.actor, session_id, rating=body.rating, liked=body.liked, comment=body.comment
    )
    return FeedbackOut.model_validate(view)


@router.get("/sessions/{session_id}/feedback", response_model=list[FeedbackOut])
def session_feedback(session_id: int, caller: ApiCaller, db: Db) -> list[FeedbackOut]:
    return [FeedbackOut.model_validate(v)
            for v in feedback.list_feedback(db, caller.actor, session_id)]


@router.get("/patients/{code}/feedback", response_model=list[FeedbackOut])
def patient_feedback(code: str, caller: ApiCaller, db: Db) -> list[FeedbackOut]:
    """Every rating and comment on the patient's sessions, newest first."""
    rows = feedback.patient_feedback(db, caller.actor, code)
    return [FeedbackOut.model_validate(v) for v in rows]
