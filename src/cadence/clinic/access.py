"""Object-level access: which patients an actor sees, and each patient's field cipher.

A therapist sees only the patients assigned to them; admins and the system actor see all.
Anything else is :class:`NotFound`, exactly as for a code that does not exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import validate
from cadence.clinic.actors import Actor
from cadence.clinic.crypto import FieldCipher
from cadence.clinic.db import clinic_of
from cadence.clinic.errors import Forbidden, NotFound
from cadence.clinic.models import Patient, TherapySession


def can_see(actor: Actor, patient: Patient) -> bool:
    if actor.is_admin:
        return True
    if actor.is_patient:
        return patient.code == actor.patient_code
    return actor.clinician_id is not None and patient.therapist_id == actor.clinician_id


def patient_row(db: Session, actor: Actor, code: str) -> Patient:
    """The patient ``code`` if ``actor`` may see them; :class:`NotFound` otherwise."""
    row = db.scalar(select(Patient).where(Patient.code == str(code)))
    if row is None or not can_see(actor, row):
        raise NotFound(f"no patient {code!r}")
    return row


def session_row(db: Session, actor: Actor, session_id: int) -> tuple[TherapySession, Patient]:
    """A session and its patient, if ``actor`` may see the patient; :class:`NotFound` otherwise."""
    if not validate.is_id("session_id", session_id):
        raise NotFound(f"no session {session_id!r}")
    row = db.get(TherapySession, session_id)
    patient = db.get(Patient, row.patient_id) if row is not None else None
    if row is None or patient is None or not can_see(actor, patient):
        raise NotFound(f"no session {session_id}")
    return row, patient


def fields(db: Session, patient: Patient) -> FieldCipher:
    """The field cipher of ``patient`` (its data key unwrapped by the master key)."""
    return clinic_of(db).cipher.fields(patient.wrapped_key)


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"only an admin may {what}")
