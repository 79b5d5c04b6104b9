"""Feedback: 1–5 ratings, encrypted comments, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cadence.clinic import feedback, patients, sessions
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


def _patient_rates(clinic: Clinic, code: str, session_id: int, rating: int) -> None:
    with clinic.session() as db:
        feedback.add_feedback(db, Actor.patient(code, "link 1"), session_id, rating=rating,
                              comment="It made me dizzy")


def test_a_patients_feedback_is_new_until_the_responsible_therapist_sees_it(
    clinic: Clinic, therapist: Actor, other_therapist: Actor, admin: Actor,
    patient: PatientView, session_id: int,
) -> None:
    _patient_rates(clinic, patient.code, session_id, 2)
    _patient_rates(clinic, patient.code, session_id, 3)
    with clinic.session() as db:
        feedback.add_feedback(db, therapist, session_id, rating=4)  # a clinician's own: seen
        assert feedback.new_feedback_counts(db, therapist) == {patient.code: 2}
        # only the responsible therapist is flagged; an admin's view leaves them new
        assert feedback.new_feedback_counts(db, other_therapist) == {}
        assert feedback.new_feedback_counts(db, admin) == {}
        assert feedback.mark_seen(db, admin, patient.code) == 0
        assert feedback.new_feedback_counts(db, therapist) == {patient.code: 2}
    with clinic.session() as db:
        assert feedback.mark_seen(db, therapist, patient.code, session_id) == 2
        assert feedback.new_feedback_counts(db, therapist) == {}
        assert feedback.mark_seen(db, therapist, patient.code) == 0
        assert all(f.seen for f in feedback.patient_feedback(db, therapist, patient.code))


def test_marking_one_session_seen_leaves_the_others_new(
    clinic: Clinic, therapist: Actor, patient: PatientView, session_id: int,
    session_files: dict[str, Path],
) -> None:
    with clinic.session() as db:
        other = sessions.record_session(db, therapist, patient.code, goal="mood",
                                        prescription={}, files=session_files, report={}).id
    _patient_rates(clinic, patient.code, session_id, 2)
    _patient_rates(clinic, patient.code, other, 5)
    with clinic.session() as db:
        assert feedback.mark_seen(db, therapist, patient.code, other) == 1
        assert feedback.new_feedback_counts(db, therapist) == {patient.code: 1}
        new = [f.session_id for f in feedback.patient_feedback(db, therapist, patient.code)
               if not f.seen]
        assert new == [session_id]


def test_a_patient_without_a_therapist_is_flagged_to_admins(
    clinic: Clinic, admin: Actor, therapist: Actor, session_files: dict[str, Path],
) -> None:
    with clinic.session() as db:
        view = patients.add_patient(db, Actor.system(), name="Nobody's patient")
        assert view.therapist_id is None
        patients.record_consent(db, admin, view.code, given=True)
        sid = sessions.record_session(db, admin, view.code, goal="sleep", prescription={},
                                      files=session_files, report={}).id
    _patient_rates(clinic, view.code, sid, 1)
    with clinic.session() as db:
        assert feedback.new_feedback_counts(db, admin) == {view.code: 1}
        assert feedback.new_feedback_counts(db, therapist) == {}
        assert feedback.mark_seen(db, admin, view.code) == 1
        assert feedback.new_feedback_counts(db, admin) == {}
