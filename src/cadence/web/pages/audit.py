"""The audit log page (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import audit
from cadence.web.deps import Db, PageCaller, State
from cadence.web.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, caller: PageCaller, db: Db, state: State, code: str | None = None
) -> Response:
    entries = audit.list_audit(db, caller.actor, code or None, limit=500)
    return render(
        request,
        state,
        "audit.html",
        {"entries": list(reversed(entries)), "code": code or ""},
        caller=caller,
    )
