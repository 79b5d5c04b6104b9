"""Clinician accounts: admins and therapists, with Argon2id password hashes.

One password rule for every way in (CLI, API, pages): :func:`check_password`. Disabling an
account or changing its password ends every sign-in and token made before it
(:func:`sign_in_holds`, which the web layer asks on every request).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit, validate
from cadence.clinic.access import require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue, NotFound
from cadence.clinic.models import Clinician, utcnow
from cadence.clinic.passwords import hash_password, needs_rehash, verify_password
from cadence.clinic.views import ClinicianView

CLINICIAN_ROLES = ("admin", "therapist")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# zxcvbn's score (0-4) of how hard a password is to guess, against its lists of common passwords,
# names and words and its patterns (keyboard rows, dates, repeats): 3 is "safely unguessable:
# moderate protection from an offline slow-hash scenario" (Wheeler 2016, USENIX Security).
MIN_STRENGTH = 3
# zxcvbn's run time grows with the length; the first 100 characters decide (its own advice).
STRENGTH_PREFIX = 100
# A hash of a random password, verified against when the username is unknown, so a sign-in
# takes as long for an unknown user as for a wrong password.
_DUMMY_HASH: str | None = None


def _view(row: Clinician) -> ClinicianView:
    return ClinicianView(
        id=row.id, username=row.username, role=row.role, active=row.active,
        created_at=row.created_at, sign_ins_ended_at=row.sign_ins_ended_at,
    )


def check_password(password: str, username: str | None = None) -> None:
    """The one password rule: at least 12 characters, not only spaces, and not a common or
    easily guessed password (zxcvbn score 3 or more, the username counted as known)."""
    from zxcvbn import zxcvbn

    if not isinstance(password, str):
        raise InvalidValue("password: must be text")
    if not password.strip():
        raise InvalidValue("password: must not be empty or only spaces")
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"password: must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(f"password: must be at most {MAX_PASSWORD} characters")
    result = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=[username] if username else [])
    if result["score"] < MIN_STRENGTH:
        why = result["feedback"]["warning"] or "it is easy to guess"
        raise InvalidValue(f"password: too easy to guess ({why.rstrip('.')}); "
                           "use a few unrelated words")


def sign_in_holds(clinician: ClinicianView, made_at: datetime) -> bool:
    """Whether a sign-in or token made at ``made_at`` still stands for this clinician: the
    account is active and neither disabled nor given a new password since."""
    if not clinician.active:
        return False
    ended = clinician.sign_ins_ended_at
    return ended is None or made_at > ended


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
    check_password(password, username)
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


def find_clinician(db: Session, actor: Actor, username: str) -> ClinicianView:
    """The clinician named ``username``; admins and the system only."""
    require_admin(actor, "look up clinicians")
    row = db.scalar(select(Clinician).where(Clinician.username == username))
    if row is None:
        raise NotFound(f"no clinician {username!r} (cadence clinician list)")
    return _view(row)


def _row(db: Session, clinician_id: int) -> Clinician:
    row = db.get(Clinician, clinician_id) if validate.is_id("clinician_id", clinician_id) else None
    if row is None:
        raise NotFound(f"no clinician {clinician_id}")
    return row


def get_clinician(db: Session, clinician_id: int) -> ClinicianView:
    row = _row(db, clinician_id)
    return _view(row)


def list_clinicians(db: Session, actor: Actor) -> list[ClinicianView]:
    """All clinicians for admins and the system; a therapist sees only themselves."""
    query = select(Clinician).order_by(Clinician.username)
    if not actor.is_admin:
        query = query.where(Clinician.id == actor.clinician_id)
    return [_view(row) for row in db.scalars(query)]


def set_password(db: Session, actor: Actor, clinician_id: int, password: str) -> ClinicianView:
    """Change a password: one's own, or anyone's as an admin. Every sign-in and token made
    before it ends."""
    if not actor.is_admin and actor.clinician_id != clinician_id:
        raise Forbidden("only an admin may change another clinician's password")
    row = _row(db, clinician_id)
    check_password(password, row.username)
    row.password_hash = hash_password(password)
    row.sign_ins_ended_at = utcnow()
    audit.record(db, actor, "update", "clinicians", row.id, detail="password")
    return _view(row)


def set_active(db: Session, actor: Actor, clinician_id: int, active: bool) -> ClinicianView:
    """Disable (or enable again) an account; admins and the system only. Disabling ends every
    sign-in and token of the account, and they stay ended when it is enabled again."""
    require_admin(actor, "disable clinicians")
    row = _row(db, clinician_id)
    if not active and actor.clinician_id == row.id:
        raise InvalidValue("an admin may not disable their own account")
    row.active = bool(active)
    if not active:
        row.sign_ins_ended_at = utcnow()
    audit.record(db, actor, "update", "clinicians", row.id,
                 detail="active" if active else "inactive")
    return _view(row)
