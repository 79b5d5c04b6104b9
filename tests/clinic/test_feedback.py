"""Feedback: 1–5 ratings, encrypted comments, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cadence.clinic import feedback, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import InvalidValue, NotFound
from cadence.clinic.models import Feedback
from cadence.clinic.views import PatientView
from tests.clinic.conftest import SECRET_COMMENT


@pytest.fixture
def session_id(clinic: Clinic, therapist: Actor, patient: PatientView,
               session_files: dict[str, Path]) -> int:
    with clinic.session() as db:
        return sessions.record_session(db, therapist, patient.code, goal="sleep",
                                       prescription={}, files=session_files, report={}).id


def test_add_and_list(clinic: Clinic, therapist: Actor, session_id: int) -> None:
    with clinic.session() as db:
        made = feedback.add_feedback(db, therapist, session_id, rating=4, liked=True,
                                     comment=SECRET_COMMENT)
        assert (made.rating, made.liked, made.comment) == (4, True, SECRET_COMMENT)
        feedback.add_feedback(db, therapist, session_id, rating=2)
        listed = feedback.list_feedback(db, therapist, session_id)
        assert [(f.rating, f.comment) for f in listed] == [(4, SECRET_COMMENT), (2, None)]
        stored = db.scalar(select(Feedback.comment_enc).where(Feedback.id == made.id))
        assert stored is not None and SECRET_COMMENT.encode() not in bytes(stored)


@pytest.mark.parametrize("rating", [0, 6, 3.5, True, -1], ids=str)
def test_rating_range(clinic: Clinic, therapist: Actor, session_id: int, rating: object) -> None:
    with pytest.raises(InvalidValue, match="rating"), clinic.session() as db:
        feedback.add_feedback(db, therapist, session_id, rating=rating)  # type: ignore[arg-type]
    with clinic.session() as db:
        assert feedback.list_feedback(db, therapist, session_id) == []


def test_isolation(clinic: Clinic, other_therapist: Actor, session_id: int) -> None:
    with pytest.raises(NotFound), clinic.session() as db:
        feedback.add_feedback(db, other_therapist, session_id, rating=5)
