"""Feedback on a session: a 1–5 rating (THERAPY.md: engagement and liking on a 1–5 scale),
liked or not, and a free-text comment, encrypted under the patient's data key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit, validate
from cadence.clinic.access import fields, session_row
from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue
from cadence.clinic.models import Feedback, Patient
from cadence.clinic.views import FeedbackView

RATING_RANGE = (1, 5)
COMMENT_LIMIT = 4000


def _view(db: Session, row: Feedback, patient: Patient) -> FeedbackView:
    return FeedbackView(
        id=row.id, session_id=row.session_id, patient_code=patient.code, rating=row.rating,
        liked=row.liked, comment=fields(db, patient).open(row.comment_enc, "comment"),
        given_by=row.given_by, created_at=row.created_at,
    )


def add_feedback(
    db: Session,
    actor: Actor,
    session_id: int,
    *,
    rating: int,
    liked: bool | None = None,
    comment: str | None = None,
) -> FeedbackView:
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise InvalidValue(f"rating: must be a whole number 1..5, got {rating!r}")
    if not RATING_RANGE[0] <= rating <= RATING_RANGE[1]:
        raise InvalidValue(f"rating: got {rating}; must be 1..5")
    if liked is not None and not isinstance(liked, bool):
        raise InvalidValue(f"liked: must be true, false or empty, got {liked!r}")
    text = validate.text("comment", comment, limit=COMMENT_LIMIT)
    session, patient = session_row(db, actor, session_id)
    row = Feedback(session_id=session.id, rating=rating, liked=liked,
                   comment_enc=fields(db, patient).seal(text, "comment"),
                   given_by=actor.username)
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "feedback", row.id, patient_code=patient.code,
                 detail=f"session={session.id}")
    return _view(db, row, patient)


def list_feedback(db: Session, actor: Actor, session_id: int) -> list[FeedbackView]:
    session, patient = session_row(db, actor, session_id)
    rows = db.scalars(select(Feedback).where(Feedback.session_id == session.id)
                      .order_by(Feedback.id))
    audit.record(db, actor, "read", "feedback", patient_code=patient.code,
                 detail=f"session={session.id}")
    return [_view(db, r, patient) for r in rows]
