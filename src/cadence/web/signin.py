"""Password sign-in shared by the sign-in page and the token endpoint, with its rate limit:
``login_failures`` failures per username and client address within ``login_window_s`` seconds
and the next try gets 429 with Retry-After, right or wrong, until the window has passed."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from cadence.clinic import accounts, audit
from cadence.clinic.actors import Actor
from cadence.web.security import clear_login_failures, login_retry_after, record_login_failure
from cadence.web.state import WebState


class SignInRefused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check_sign_in(
    db: Session, state: WebState, request: Request, username: str, password: str
) -> Any:
    """The clinician's view when the password is right; SignInRefused (401 or 429) otherwise.
    A failure is recorded in the same transaction, which the caller commits."""
    s = state.settings
    address = client_address(request)
    wait = login_retry_after(
        db, username, address, limit=s.login_failures, window_s=s.login_window_s
    )
    if wait is not None:
        raise SignInRefused(
            429, f"too many failed sign-ins; try again in {wait} s", {"Retry-After": str(wait)}
        )
    clinician = accounts.authenticate(db, username, password)
    if clinician is None:
        record_login_failure(db, username, address, window_s=s.login_window_s)
        audit.record(db, Actor.anonymous(username), "login-failed", "clinicians",
                     detail=f"from {address}"[:200])
        raise SignInRefused(401, "wrong username or password")
    clear_login_failures(db, username, address)
    return clinician
