"""Bearer tokens: issue one for a username and password, list and revoke them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from cadence.clinic import accounts
from cadence.web.deps import ApiCaller, Db, State
from cadence.web.schemas import MeOut, TokenIn, TokenInfoOut, TokenOut
from cadence.web.security import expired, issue_token
from cadence.web.signin import SignInRefused, check_sign_in
from cadence.web.store import AuthToken, aware, utcnow

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failures"},
    },
)
def create_token(body: TokenIn, request: Request, db: Db, state: State) -> TokenOut | JSONResponse:
    """Sign in with a password and get a bearer token (shown once; only its hash is kept)."""
    try:
        clinician = check_sign_in(db, state, request, body.username, body.password)
    except SignInRefused as refused:
        return JSONResponse(
            {"detail": refused.message}, status_code=refused.status, headers=refused.headers
        )
    token, row = issue_token(db, clinician.id, "api", hours=body.hours, name=body.name)
    return TokenOut(id=row.id, token=token, expires_at=row.expires_at)


@router.get("/me", response_model=MeOut)
def me(caller: ApiCaller) -> MeOut:
    a = caller.actor
    return MeOut(id=a.clinician_id, username=a.username, role=a.role)


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(caller: ApiCaller, db: Db) -> list[TokenInfoOut]:
    """The caller's live API tokens (never the tokens themselves)."""
    me = accounts.get_clinician(db, caller.actor.clinician_id or 0)
    rows = db.scalars(
        select(AuthToken)
        .where(
            AuthToken.clinician_id == caller.actor.clinician_id,
            AuthToken.kind == "api",
            AuthToken.revoked_at.is_(None),
        )
        .order_by(AuthToken.id)
    ).all()
    live = [r for r in rows if not expired(r.expires_at) and r.expires_at is not None
            and accounts.sign_in_holds(me, aware(r.created_at))]
    return [TokenInfoOut.model_validate(r) for r in live]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, caller: ApiCaller, db: Db) -> None:
    """Revoke one of the caller's tokens."""
    row = db.get(AuthToken, token_id)
    if row is None or row.clinician_id != caller.actor.clinician_id or row.kind != "api":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such token")
    row.revoked_at = utcnow()


@router.delete("/tokens", status_code=status.HTTP_204_NO_CONTENT)
def revoke_current(caller: ApiCaller, db: Db) -> None:
    """Revoke the token this request was made with (sign out)."""
    row = db.get(AuthToken, caller.token_id)
    if row is not None:
        row.revoked_at = utcnow()
