"""The append-only audit log: who read or changed which record, and when.

Entries hold the actor, the action, the table and row id, and the patient's pseudonymous code;
never a name, contact, note or comment. The database refuses UPDATE and DELETE on the table
(triggers in the first migration), and services only ever add to it; erasing a patient adds a
tombstone entry and leaves the earlier entries (which hold no plaintext) in place.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic.access import require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue
from cadence.clinic.models import AuditEntry
from cadence.clinic.views import AuditView

# The most entries one listing returns (the API and `cadence db audit --limit` alike).
MAX_LIMIT = 5000
ACTIONS = ("read", "create", "update", "delete", "export", "erase", "login", "backup", "restore",
           "rotate-key")


def record(
    db: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object | None = None,
    *,
    patient_code: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry. ``detail`` must never hold plaintext patient data (field names are fine)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {ACTIONS}, got {action!r}")
    db.add(
        AuditEntry(
            actor_id=actor.clinician_id,
            actor_name=actor.username,
            actor_role=actor.role,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            patient_code=patient_code,
            detail=detail,
        )
    )


def list_audit(
    db: Session, actor: Actor, code: str | None = None, *, limit: int | None = None
) -> list[AuditView]:
    """Entries oldest first (the newest ``limit``, 1..MAX_LIMIT, when given); admins and the
    system only."""
    require_admin(actor, "read the audit log")
    if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT):
        raise InvalidValue(f"limit: got {limit}; must be 1..{MAX_LIMIT}")
    query = select(AuditEntry)
    if code is not None:
        query = query.where(AuditEntry.patient_code == code)
    if limit is not None:
        query = query.order_by(AuditEntry.id.desc()).limit(limit)
        rows = list(reversed(db.scalars(query).all()))
    else:
        rows = list(db.scalars(query.order_by(AuditEntry.id)).all())
    return [
        AuditView(
            id=r.id, at=r.at, actor_id=r.actor_id, actor_name=r.actor_name,
            actor_role=r.actor_role, action=r.action, entity=r.entity, entity_id=r.entity_id,
            patient_code=r.patient_code, detail=r.detail,
        )
        for r in rows
    ]
