"""Secrets and checks: random tokens stored as hashes, CSRF tokens, the sign-in rate limit."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cadence.web.store import AuthToken, LoginFailure, aware, utcnow

# Every token expires: an API token lives 30 days unless asked for less, a year at most.
TOKEN_HOURS_DEFAULT = 24.0 * 30
TOKEN_HOURS_MAX = 24.0 * 366


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token bound to one browser: an HMAC of its session (or anonymous) cookie, so a
    page form carries a value another site can neither read nor compute."""
    return hmac.new(key, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, binding: str | None, sent: str | None) -> bool:
    if not binding or not sent:
        return False
    return hmac.compare_digest(csrf_token(key, binding), sent)


def issue_token(
    db: Session, clinician_id: int, kind: str, *, hours: float, name: str = ""
) -> tuple[str, AuthToken]:
    """Store the hash of a new token, expiring after ``hours`` (0 < hours <= TOKEN_HOURS_MAX);
    the plain token is returned once and never kept."""
    if not isinstance(hours, int | float) or not 0 < hours <= TOKEN_HOURS_MAX:
        raise ValueError(f"hours: got {hours!r}; every token expires, within {TOKEN_HOURS_MAX}")
    token = new_token()
    expires = utcnow() + timedelta(hours=hours)
    row = AuthToken(
        token_hash=token_hash(token),
        kind=kind,
        name=name,
        clinician_id=clinician_id,
        expires_at=expires,
    )
    db.add(row)
    db.flush()
    return token, row


def find_token(db: Session, token: str, kind: str) -> AuthToken | None:
    """The live (unrevoked, unexpired) token row of this kind, or None. A token without an
    expiry (one an older version made with ``"hours": null``) is not live."""
    row = db.scalar(
        select(AuthToken).where(AuthToken.token_hash == token_hash(token), AuthToken.kind == kind)
    )
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is None or aware(row.expires_at) <= utcnow():
        return None
    return row


def _failure_key(username: str, address: str) -> str:
    return token_hash(f"{username.strip().lower()}\n{address}")


def login_retry_after(
    db: Session, username: str, address: str, *, limit: int, window_s: int
) -> int | None:
    """Seconds to wait when ``limit`` sign-ins for this username from this address failed within
    the last ``window_s`` seconds; None when a try is allowed."""
    since = utcnow() - timedelta(seconds=window_s)
    key = _failure_key(username, address)
    count, oldest = db.execute(
        select(func.count(LoginFailure.id), func.min(LoginFailure.at)).where(
            LoginFailure.key_hash == key, LoginFailure.at > since
        )
    ).one()
    if count < limit or oldest is None:
        return None
    wait = (aware(oldest) + timedelta(seconds=window_s) - utcnow()).total_seconds()
    return max(1, math.ceil(wait))


def record_login_failure(db: Session, username: str, address: str, *, window_s: int) -> None:
    db.add(LoginFailure(key_hash=_failure_key(username, address)))
    # Old rows are useless; trim them as we go.
    db.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - timedelta(seconds=window_s)))


def clear_login_failures(db: Session, username: str, address: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key_hash == _failure_key(username, address)))


def expired(at: datetime | None) -> bool:
    return at is not None and aware(at) <= utcnow()
