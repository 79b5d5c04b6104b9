"""The audit log: an entry for every read and change, no plaintext, append-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from cadence.clinic import audit, feedback, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import Forbidden
from cadence.clinic.models import AuditEntry
from cadence.clinic.views import PatientView
from tests.clinic.conftest import SECRET_COMMENT, SECRET_CONTACT, SECRET_NAME, SECRET_NOTES


def test_reads_and_changes_are_recorded(clinic: Clinic, therapist: Actor, patient: PatientView,
                                        session_files: dict[str, Path]) -> None:
    with clinic.session() as db:
        patients.get_patient(db, therapist, patient.code)
        sid = sessions.record_session(db, therapist, patient.code, goal="mood",
                                      prescription={}, files=session_files, report={}).id
        feedback.add_feedback(db, therapist, sid, rating=5, comment=SECRET_COMMENT)
        patients.update_patient(db, therapist, patient.code, notes=SECRET_NOTES + " more")
    with clinic.session() as db:
        entries = audit.list_audit(db, Actor.system(), patient.code)
    got = [(e.actor_name, e.action, e.entity) for e in entries]
    assert got == [
        ("tess", "create", "patients"),
        ("tess", "create", "consents"),
        ("tess", "read", "patients"),
        ("tess", "create", "therapy_sessions"),
        ("tess", "create", "feedback"),
        ("tess", "update", "patients"),
    ]
    assert entries[0].actor_id == therapist.clinician_id
    assert entries[-1].detail == "notes"
    assert all(e.at.tzinfo is not None for e in entries)
    everything = " ".join(str(v) for e in entries for v in vars(e).values())
    for secret in (SECRET_NAME, SECRET_CONTACT, SECRET_NOTES, SECRET_COMMENT):
        assert secret not in everything


def test_only_admins_read_the_log(clinic: Clinic, therapist: Actor, admin: Actor,
                                  patient: PatientView) -> None:
    with clinic.session() as db:
        with pytest.raises(Forbidden):
            audit.list_audit(db, therapist)
        assert len(audit.list_audit(db, admin, patient.code)) == 2
        assert len(audit.list_audit(db, admin, limit=1)) == 1


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_to_rewrite_history(clinic: Clinic, patient: PatientView,
                                                 statement: str) -> None:
    change = (update(AuditEntry).values(actor_name="nobody") if statement == "update"
              else delete(AuditEntry))
    with pytest.raises(DBAPIError, match="append-only"), clinic.session() as db:
        db.execute(change)
    with clinic.session() as db:
        assert len(audit.list_audit(db, Actor.system(), patient.code)) == 2
        if clinic.dialect == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"):
                db.execute(text("TRUNCATE audit_log"))
