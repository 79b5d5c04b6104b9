"""Clinician accounts: admins and therapists, with Argon2id password hashes."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue, NotFound
from cadence.clinic.models import Clinician
from cadence.clinic.passwords import hash_password, needs_rehash, verify_password
from cadence.clinic.views import ClinicianView

CLINICIAN_ROLES = ("admin", "therapist")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 8
# A hash of a random password, verified against when the username is unknown, so a sign-in
# takes as long for an unknown user as for a wrong password.
_DUMMY_HASH: str | None = None


def _view(row: Clinician) -> ClinicianView:
    return ClinicianView(
        id=row.id, username=row.username, role=row.role, active=row.active,
        created_at=row.created_at,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"password: must be at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidValue("password: must be at most 1024 characters")


def create_clinician(
    db: Session, actor: Actor, username: str, password: str, role: str
) -> ClinicianView:
    """A new clinician; admins and the system only."""
    require_admin(actor, "create clinicians")
    if not USERNAME.match(username or ""):
        raise InvalidValue(
            f"username: got {username!r}; use 2-64 letters, digits, '.', '_', '@' or '-'"
        )
    if role not in CLINICIAN_ROLES:
        raise InvalidValue(f"role: got {role!r}; must be one of {', '.join(CLINICIAN_ROLES)}")
    _check_password(password)
    if db.scalar(select(Clinician.id).where(Clinician.username == username)) is not None:
        raise Conflict(f"a clinician named {username!r} already exists")
    row = Clinician(username=username, password_hash=hash_password(password), role=role,
                    active=True)
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "clinicians", row.id)
    return _view(row)


def authenticate(db: Session, username: str, password: str) -> ClinicianView | None:
    """The active clinician with these credentials, or None (same time either way)."""
    global _DUMMY_HASH
    row = db.scalar(select(Clinician).where(Clinician.username == username))
    if row is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not a real password, only for timing")
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    if needs_rehash(row.password_hash):
        row.password_hash = hash_password(password)
    actor = Actor(clinician_id=row.id, username=row.username, role=row.role)
    audit.record(db, actor, "login", "clinicians", row.id)
    return _view(row)


def get_clinician(db: Session, clinician_id: int) -> ClinicianView:
    row = db.get(Clinician, int(clinician_id))
    if row is None:
        raise NotFound(f"no clinician {clinician_id}")
    return _view(row)


def list_clinicians(db: Session, actor: Actor) -> list[ClinicianView]:
    """All clinicians for admins and the system; a therapist sees only themselves."""
    query = select(Clinician).order_by(Clinician.username)
    if not actor.is_admin:
        query = query.where(Clinician.id == actor.clinician_id)
    return [_view(row) for row in db.scalars(query)]


def set_password(db: Session, actor: Actor, clinician_id: int, password: str) -> None:
    """Change a password: one's own, or anyone's as an admin."""
    if not actor.is_admin and actor.clinician_id != clinician_id:
        raise Forbidden("only an admin may change another clinician's password")
    _check_password(password)
    row = db.get(Clinician, int(clinician_id))
    if row is None:
        raise NotFound(f"no clinician {clinician_id}")
    row.password_hash = hash_password(password)
    audit.record(db, actor, "update", "clinicians", row.id, detail="password")


def set_active(db: Session, actor: Actor, clinician_id: int, active: bool) -> ClinicianView:
    """Deactivate (or reactivate) an account; admins and the system only."""
    require_admin(actor, "deactivate clinicians")
    row = db.get(Clinician, int(clinician_id))
    if row is None:
        raise NotFound(f"no clinician {clinician_id}")
    row.active = bool(active)
    audit.record(db, actor, "update", "clinicians", row.id,
                 detail="active" if active else "inactive")
    return _view(row)
