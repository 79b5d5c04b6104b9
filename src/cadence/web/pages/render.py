"""Rendering pages: every template gets the CSRF token, the signed-in clinician and any flash
message; an anonymous browser gets a random cookie its CSRF token is bound to."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cadence.web.deps import ANON_COOKIE, SESSION_COOKIE, Caller
from cadence.web.security import csrf_token, new_token
from cadence.web.state import WebState

FLASH_COOKIE = "cadence_flash"


def set_cookie(
    response: Any,
    state: WebState,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = "/",
    samesite: str = "lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=state.settings.session_cookie_secure,
        samesite=samesite,
    )


def render(
    request: Request,
    state: WebState,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    caller: Caller | None = None,
    status_code: int = 200,
    binding: str | None = None,
) -> HTMLResponse:
    """The page; ``binding`` overrides what the CSRF token is bound to (the listening page)."""
    anon = None
    if binding is None:
        binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
        if binding is None:
            binding = anon = new_token()
    flash = request.cookies.get(FLASH_COOKIE)
    ctx = {
        "csrf_token": csrf_token(state.key, binding),
        "user": caller.actor if caller else None,
        "flash": flash,
        **(context or {}),
    }
    response = state.templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if anon is not None:
        set_cookie(response, state, ANON_COOKIE, anon, samesite="strict")
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, state: WebState | None = None, flash: str | None = None) -> RedirectResponse:
    """303 to ``url`` (POST-redirect-GET), optionally with a one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash and state is not None:
        set_cookie(response, state, FLASH_COOKIE, flash[:300], max_age=60)
    return response
