"""Feedback on a session: a 1–5 rating (THERAPY.md: engagement and liking on a 1–5 scale),
liked or not, and a free-text comment, encrypted under the patient's data key.

Feedback a patient gives on their listening page is *new* until the responsible therapist (the
patient's therapist; an admin for a patient with none) opens the patient or the session: the
patient list shows how many are new, so a comment such as "it made me dizzy" is not missed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.clinic import audit, validate
from cadence.clinic.access import fields, patient_row, session_row
from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue
from cadence.clinic.models import Feedback, Patient, TherapySession, utcnow
from cadence.clinic.views import FeedbackView

RATING_RANGE = (1, 5)
COMMENT_LIMIT = 4000


def _view(db: Session, row: Feedback, patient: Patient) -> FeedbackView:
    return FeedbackView(
        id=row.id, session_id=row.session_id, patient_code=patient.code, rating=row.rating,
        liked=row.liked, comment=fields(db, patient).open(row.comment_enc, "comment"),
        given_by=row.given_by, created_at=row.created_at, seen=row.seen_at is not None,
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
                   given_by=actor.username,
                   # A clinician's own entry needs no flag; a patient's waits to be seen.
                   seen_at=None if actor.is_patient else utcnow())
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


def patient_feedback(db: Session, actor: Actor, code: str) -> list[FeedbackView]:
    """Every rating and comment on the patient's sessions, newest first."""
    patient = patient_row(db, actor, code)
    rows = db.scalars(
        select(Feedback).join(TherapySession, TherapySession.id == Feedback.session_id)
        .where(TherapySession.patient_id == patient.id).order_by(Feedback.id.desc())
    )
    audit.record(db, actor, "read", "feedback", patient_code=patient.code)
    return [_view(db, r, patient) for r in rows]


def _responsible(actor: Actor, patient: Patient) -> bool:
    if actor.is_patient or actor.role == "system":
        return False
    if patient.therapist_id is None:
        return actor.is_admin
    return actor.clinician_id == patient.therapist_id


def mark_seen(db: Session, actor: Actor, code: str, session_id: int | None = None) -> int:
    """The responsible therapist has seen the patient's new feedback (on one session, or all);
    how many were new. Anyone else viewing the page leaves them new."""
    patient = patient_row(db, actor, code)
    if not _responsible(actor, patient):
        return 0
    query = (select(Feedback).join(TherapySession, TherapySession.id == Feedback.session_id)
             .where(TherapySession.patient_id == patient.id, Feedback.seen_at.is_(None)))
    if session_id is not None:
        query = query.where(Feedback.session_id == session_id)
    rows = list(db.scalars(query))
    now = utcnow()
    for row in rows:
        row.seen_at = now
    if rows:
        audit.record(db, actor, "update", "feedback", patient_code=patient.code,
                     detail=f"seen {len(rows)}")
    return len(rows)


def new_feedback_counts(db: Session, actor: Actor) -> dict[str, int]:
    """Patient code -> how many ratings and comments the responsible therapist has not yet
    seen, over the patients ``actor`` is responsible for."""
    query = (
        select(Patient, func.count(Feedback.id))
        .join(TherapySession, TherapySession.patient_id == Patient.id)
        .join(Feedback, Feedback.session_id == TherapySession.id)
        .where(Feedback.seen_at.is_(None))
        .group_by(Patient.id)
    )
    return {p.code: int(n) for p, n in db.execute(query) if _responsible(actor, p)}
