"""Sign in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cadence.web.deps import ANON_COOKIE, SESSION_COOKIE, Db, State, cookie_caller, require_csrf
from cadence.web.pages.render import redirect, render, set_cookie
from cadence.web.security import find_token, issue_token
from cadence.web.signin import SignInRefused, check_sign_in
from cadence.web.store import utcnow

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) may follow sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


@router.get("/", response_class=RedirectResponse)
def home(request: Request, db: Db) -> RedirectResponse:
    return redirect("/patients" if cookie_caller(request, db) else "/signin")


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, state: State, db: Db, next: str | None = None) -> Response:
    if cookie_caller(request, db) is not None:
        return redirect(_safe_next(next))
    return render(request, state, "signin.html", {"next": _safe_next(next)})


@router.post("/signin", dependencies=[Depends(require_csrf)])
def signin(
    request: Request,
    state: State,
    db: Db,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form()] = "/patients",
) -> Response:
    try:
        clinician = check_sign_in(db, state, request, username.strip(), password)
    except SignInRefused as refused:
        page = render(
            request,
            state,
            "signin.html",
            {"error": refused.message, "username": username, "next": _safe_next(next)},
            status_code=refused.status,
        )
        page.headers.update(refused.headers)
        return page
    token, _ = issue_token(db, clinician.id, "session", hours=state.settings.session_hours)
    response = redirect(_safe_next(next))
    set_cookie(
        response,
        state,
        SESSION_COOKIE,
        token,
        max_age=int(state.settings.session_hours * 3600),
    )
    response.delete_cookie(ANON_COOKIE, path="/")
    return response


@router.post("/signout", dependencies=[Depends(require_csrf)])
def signout(request: Request, state: State, db: Db) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        row = find_token(db, token, "session")
        if row is not None:
            row.revoked_at = utcnow()
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
