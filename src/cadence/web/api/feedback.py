"""Feedback: a rating (1-5) for a session."""

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
