"""The append-only audit log: who read or changed which record, and when.

Entries hold the actor, the action, the table and row id, and the patient's pseudonymous code;
never a name, contact, note or comment. The database refuses UPDATE and DELETE on the table
(triggers in the first migration), and services only ever add to it; erasing a patient adds a
tombstone entry and leaves the earlier entries (which hold no plaintext) in place.

Reads are recorded once per transaction (one page view, one API call, one command) per actor
and record: opening a patient's page reads the patient, their sessions, outcomes and feedback,
and that is one "read" of that patient, not one per query.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cadence.clinic.access import require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue
from cadence.clinic.models import AuditEntry
from cadence.clinic.views import AuditView

# The most entries one listing returns (the API and `cadence db audit --limit` alike).
MAX_LIMIT = 5000
ACTIONS = ("read", "create", "update", "delete", "export", "erase", "login", "backup", "restore",
           "rotate-key", "login-failed", "use", "revoke")
CSV_COLUMNS = ("id", "at", "actor_id", "actor_name", "actor_role", "action", "entity",
               "entity_id", "patient_code", "detail")
_READS = "audit_reads"


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
    """Add one entry. ``detail`` must never hold plaintext patient data (field names are fine).
    A read of a record this actor already read in this transaction adds nothing."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {ACTIONS}, got {action!r}")
    if action == "read":
        key = ((actor.username, "patient", patient_code) if patient_code is not None
               else (actor.username, entity, None if entity_id is None else str(entity_id)))
        seen: set[tuple[str, str, str | None]] = db.info.setdefault(_READS, set())
        if key in seen:
            return
        seen.add(key)
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


def _view(r: AuditEntry) -> AuditView:
    return AuditView(
        id=r.id, at=r.at, actor_id=r.actor_id, actor_name=r.actor_name,
        actor_role=r.actor_role, action=r.action, entity=r.entity, entity_id=r.entity_id,
        patient_code=r.patient_code, detail=r.detail,
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
    return [_view(r) for r in rows]


@dataclass(frozen=True)
class AuditFilter:
    """What an admin narrows the log to; every part optional. ``until`` is exclusive."""

    actor_name: str | None = None
    patient_code: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.action is not None and self.action not in ACTIONS:
            raise InvalidValue(f"action: got {self.action!r}; must be one of {', '.join(ACTIONS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidValue(f"{name}: give a time with its time zone")
        if self.since and self.until and self.since >= self.until:
            raise InvalidValue("until: must be after the start date")

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.actor_name:
            query = query.where(AuditEntry.actor_name == self.actor_name)
        if self.patient_code:
            query = query.where(AuditEntry.patient_code == self.patient_code)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.since is not None:
            query = query.where(AuditEntry.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntry.at < self.until)
        return query


def search_audit(
    db: Session, actor: Actor, where: AuditFilter, *, page: int = 1, per_page: int = 50
) -> tuple[list[AuditView], int]:
    """One page of the matching entries, newest first, and how many match in all."""
    require_admin(actor, "read the audit log")
    if not 1 <= per_page <= MAX_LIMIT:
        raise InvalidValue(f"per_page: got {per_page}; must be 1..{MAX_LIMIT}")
    if page < 1:
        raise InvalidValue(f"page: got {page}; must be 1 or more")
    base = where.apply(select(AuditEntry))
    total = int(db.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows: list[AuditEntry] = list(db.scalars(
        base.order_by(AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ))
    return [_view(r) for r in rows], total


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a typed username can start with =)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(db: Session, actor: Actor, where: AuditFilter) -> str:
    """The matching entries, oldest first, as CSV (an admin's export; no plaintext in it)."""
    require_admin(actor, "export the audit log")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    entries: list[AuditEntry] = list(
        db.scalars(where.apply(select(AuditEntry)).order_by(AuditEntry.id))
    )
    for r in entries:
        writer.writerow([_cell(v) for v in (
            r.id, r.at.isoformat(), r.actor_id or "", r.actor_name, r.actor_role, r.action,
            r.entity, r.entity_id or "", r.patient_code or "", r.detail or "",
        )])
    record(db, actor, "export", "audit_log", detail="csv")
    return out.getvalue()
