"""The audit log (admins only): every read and change of patient data, without plaintext."""

from __future__ import annotations

from fastapi import APIRouter

from cadence.clinic import audit
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import AuditOut

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditOut])
def list_audit(
    caller: ApiCaller, db: Db, code: str | None = None, limit: int = 200
) -> list[AuditOut]:
    """The newest ``limit`` entries, oldest first; ``code`` narrows to one patient."""
    rows = audit.list_audit(db, caller.actor, code, limit=max(1, min(limit, audit.MAX_LIMIT)))
    return [AuditOut.model_validate(r) for r in rows]
