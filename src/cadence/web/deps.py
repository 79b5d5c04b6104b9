"""Request dependencies: one database transaction per request, who is asking (the Actor), CSRF.

The API takes a bearer token (``Authorization: Bearer ...``) or, from the app's own pages, the
sign-in cookie; a cookie-authenticated API call that changes anything must also send the CSRF
token in ``X-CSRF-Token``. Pages take the cookie only, and every page POST carries the CSRF token
in a hidden ``csrf_token`` field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cadence.clinic import accounts
from cadence.clinic.actors import Actor
from cadence.clinic.errors import NotFound
from cadence.web.security import csrf_ok, find_token
from cadence.web.state import WebState, get_state
from cadence.web.store import AuthToken, aware

SESSION_COOKIE = "cadence_session"
ANON_COOKIE = "cadence_anon"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/tokens")

State = Annotated[WebState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    """One transaction around the route: committed when it returns, rolled back when it raises,
    and finished before the response is sent (so nothing is half-saved)."""
    with state.clinic.session() as db:
        yield db


Db = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Caller:
    """A signed-in clinician: the clinic Actor, and how they authenticated."""

    actor: Actor
    via: str  # "bearer" | "cookie"
    token_id: int


class SignInRequired(Exception):
    """A page needs a signed-in clinician; the handler redirects to the sign-in page."""


def _actor_for(db: Session, token: AuthToken) -> Actor | None:
    """The token's clinician, while the sign-in it stands for holds (clinic's rule: an active
    account, no password change or disabling since the token was made)."""
    try:
        view = accounts.get_clinician(db, token.clinician_id)
    except NotFound:
        return None
    if not accounts.sign_in_holds(view, aware(token.created_at)):
        return None
    return Actor(clinician_id=view.id, username=view.username, role=view.role)


def cookie_caller(request: Request, db: Session) -> Caller | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = find_token(db, token, "session")
    if row is None:
        return None
    actor = _actor_for(db, row)
    return Caller(actor, "cookie", row.id) if actor is not None else None


def api_caller(
    request: Request,
    db: Db,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Caller:
    """The API's caller, or 401."""
    if credentials is not None:
        row = find_token(db, credentials.credentials, "api")
        actor = _actor_for(db, row) if row is not None else None
        if row is None or actor is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid or expired token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Caller(actor, "bearer", row.id)
    caller = cookie_caller(request, db)
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in SAFE_METHODS and not csrf_ok(
        state.key, request.cookies.get(SESSION_COOKIE), request.headers.get("x-csrf-token")
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong X-CSRF-Token header")
    return caller


ApiCaller = Annotated[Caller, Depends(api_caller)]


def page_caller(request: Request, db: Db) -> Caller:
    """The signed-in clinician of a page, or a redirect to the sign-in page."""
    caller = cookie_caller(request, db)
    if caller is None:
        raise SignInRequired
    return caller


PageCaller = Annotated[Caller, Depends(page_caller)]


def csrf_binding(request: Request) -> str | None:
    """What this browser's CSRF token is bound to: its sign-in cookie, else its anonymous one."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)


def require_csrf(request: Request, state: State, csrf_token: Annotated[str, Form()] = "") -> None:
    """Every page POST: the hidden field must match this browser's token, else 403."""
    if request.method in SAFE_METHODS:
        return
    if not csrf_ok(state.key, csrf_binding(request), csrf_token):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the form expired or came from elsewhere; reload the page"
        )


def require_admin(caller: Caller) -> None:
    if caller.actor.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may do this")
