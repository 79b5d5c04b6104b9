"""The audit log: an entry for every read and change, no plaintext, append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from cadence.clinic import audit, feedback, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import Forbidden, InvalidValue
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


def test_search_pages_and_filters_the_log(clinic: Clinic, therapist: Actor, admin: Actor,
                                          patient: PatientView) -> None:
    for _ in range(2):  # two page views, each reading the record three times
        with clinic.session() as db:
            for _ in range(3):
                patients.get_patient(db, therapist, patient.code)
    with clinic.session() as db:
        other = patients.add_patient(db, admin, name="Second patient")
    everyone = audit.AuditFilter()
    with clinic.session() as db:
        first, total = audit.search_audit(db, admin, everyone, page=1, per_page=4)
        second, again = audit.search_audit(db, admin, everyone, page=2, per_page=4)
        assert total == again == len(audit.list_audit(db, admin))
        ids = [e.id for e in first + second]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # newest first
        reads, n_reads = audit.search_audit(
            db, admin, audit.AuditFilter(actor_name="tess", action="read"))
        assert n_reads == 2 and {(e.actor_name, e.action) for e in reads} == {("tess", "read")}
        theirs, _ = audit.search_audit(db, admin, audit.AuditFilter(patient_code=other.code))
        assert [(e.action, e.entity) for e in theirs] == [("create", "patients")]
        newest = max(e.at for e in first)
        later, n_later = audit.search_audit(
            db, admin, audit.AuditFilter(since=newest + timedelta(seconds=1)))
        assert (later, n_later) == ([], 0)
        before, n_before = audit.search_audit(db, admin, audit.AuditFilter(until=newest))
        assert n_before < total and all(e.at < newest for e in before)
        with pytest.raises(Forbidden):
            audit.search_audit(db, therapist, everyone)


@pytest.mark.parametrize(("where", "paging", "message"), [
    ({"action": "peek"}, {}, "action: got 'peek'"),
    ({"since": datetime(2026, 1, 2)}, {}, "since: give a time with its time zone"),
    ({"since": datetime(2026, 1, 2, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
     {}, "until: must be after"),
    ({}, {"page": 0}, "page: got 0"),
    ({}, {"per_page": audit.MAX_LIMIT + 1}, "per_page: got"),
], ids=["action", "naive-date", "reversed", "page", "per-page"])
def test_search_refuses_bad_filters_in_words(clinic: Clinic, admin: Actor, where: dict,
                                             paging: dict, message: str) -> None:
    with pytest.raises(InvalidValue, match=message), clinic.session() as db:
        audit.search_audit(db, admin, audit.AuditFilter(**where), **paging)
