"""The audit log page (admins only): filters by actor, patient, action and date, paging, and a
CSV download of what the filters match."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import audit
from cadence.clinic.errors import InvalidValue
from cadence.web.deps import Db, PageCaller, State
from cadence.web.pages.render import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
FILTERS = ("actor", "code", "action", "since", "until")


def _day(name: str, text: str, *, after: bool = False) -> datetime | None:
    """A form's date (YYYY-MM-DD) as the start of that day in UTC (of the next day, for an
    inclusive end date)."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(f"{name}: give a date such as 2026-12-04") from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if after else start


def _filter(actor: str, code: str, action: str, since: str, until: str) -> audit.AuditFilter:
    return audit.AuditFilter(
        actor_name=actor.strip() or None,
        patient_code=code.strip() or None,
        action=action or None,
        since=_day("from", since),
        until=_day("to", until, after=True),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, caller: PageCaller, db: Db, state: State, actor: str = "", code: str = "",
    action: str = "", since: str = "", until: str = "", page: int = 1,
) -> Response:
    form = {"actor": actor, "code": code, "action": action, "since": since, "until": until}
    query = urlencode({k: v for k, v in form.items() if v})
    context = {"form": form, "actions": audit.ACTIONS, "query": query, "entries": [],
               "total": 0, "page": 1, "pages": 1, "error": None}
    try:
        where = _filter(actor, code, action, since, until)
        entries, total = audit.search_audit(db, caller.actor, where, page=max(page, 1),
                                            per_page=PER_PAGE)
    except InvalidValue as err:
        context["error"] = str(err)
        return render(request, state, "audit.html", context, caller=caller, status_code=422)
    pages = max(1, -(-total // PER_PAGE))
    context.update(entries=entries, total=total, page=max(page, 1), pages=pages)
    return render(request, state, "audit.html", context, caller=caller)


@router.get("/audit.csv")
def audit_csv(
    caller: PageCaller, db: Db, actor: str = "", code: str = "", action: str = "",
    since: str = "", until: str = "",
) -> Response:
    where = _filter(actor, code, action, since, until)
    body = audit.audit_csv(db, caller.actor, where)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        body, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cadence-audit-{stamp}.csv"'},
    )
