"""A patient's history as plain data for therapy/ (``PreferenceModel.from_history`` reads
``sessions``: goal, variant, rating, outcome_changes)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import fields, patient_row
from cadence.clinic.actors import Actor
from cadence.clinic.models import Feedback, Outcome, Preferences, TherapySession
from cadence.clinic.outcomes import changes, outcome_view
from cadence.clinic.patients import (
    baseline_view,
    birth_year_of,
    favourites_of,
    latest_baseline_row,
    preferences_view,
)
from cadence.clinic.views import OutcomeView, PatientHistory, SessionRecord

# Reminiscence bump: recall of popular music peaks for music heard at ages 13–19 (Rao et al.
# 2021, J Multidiscip Healthc, doi 10.2147/JMDH.S312725; THERAPY.md, cognition).
YOUTH_AGES = (13, 19)


def patient_history(db: Session, actor: Actor, code: str) -> PatientHistory:
    """Preferences, the latest baseline, favourite tunes and every past session (oldest
    first) with its mean rating, last liked/disliked and outcome changes. When no youth years
    were set they follow from the birth year (ages 13–19)."""
    row = patient_row(db, actor, code)
    birth_year = birth_year_of(fields(db, row), row)
    prefs_row = db.get(Preferences, row.id)
    prefs = preferences_view(db, row, prefs_row) if prefs_row is not None else None
    youth = prefs.youth_years if prefs is not None else None
    if youth is None and birth_year is not None:
        youth = (birth_year + YOUTH_AGES[0], birth_year + YOUTH_AGES[1])
    base = latest_baseline_row(db, row.id)

    sessions = list(db.scalars(select(TherapySession)
                               .where(TherapySession.patient_id == row.id)
                               .order_by(TherapySession.id)))
    ids = [s.id for s in sessions]
    ratings: dict[int, list[int]] = defaultdict(list)
    liked: dict[int, bool | None] = {}
    for fb in db.scalars(select(Feedback).where(Feedback.session_id.in_(ids))
                         .order_by(Feedback.id)):
        ratings[fb.session_id].append(fb.rating)
        if fb.liked is not None:
            liked[fb.session_id] = fb.liked
    per_session: dict[int, list[OutcomeView]] = defaultdict(list)
    for o in db.scalars(select(Outcome).where(Outcome.session_id.in_(ids)).order_by(Outcome.id)):
        if o.session_id is not None:
            per_session[o.session_id].append(outcome_view(row.code, o))
    records = tuple(
        SessionRecord(
            session_id=s.id, goal=s.goal, created_at=s.created_at,
            variant=dict(s.variant) if s.variant is not None else None,
            rating=sum(ratings[s.id]) / len(ratings[s.id]) if ratings[s.id] else None,
            liked=liked.get(s.id), outcome_changes=changes(per_session[s.id]),
        )
        for s in sessions
    )
    audit.record(db, actor, "read", "history", row.id, patient_code=row.code)
    return PatientHistory(
        code=row.code, birth_year=birth_year, youth_years=youth, preferences=prefs,
        baseline=baseline_view(row.code, base) if base is not None else None,
        favourites=tuple(favourites_of(db, row)), sessions=records,
    )
