"""Errors to HTTP: the same clinic errors answer the API as JSON and the pages as HTML."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadence.clinic import errors as clinic_errors
from cadence.errors import CadenceError
from cadence.web.deps import SignInRequired
from cadence.web.jobs import QueueFull

# Most specific first: every clinic error is also a CadenceError.
STATUS: tuple[tuple[type[CadenceError], int], ...] = (
    (clinic_errors.NotFound, status.HTTP_404_NOT_FOUND),
    (clinic_errors.Forbidden, status.HTTP_403_FORBIDDEN),
    (clinic_errors.ConsentRequired, status.HTTP_409_CONFLICT),
    (clinic_errors.Conflict, status.HTTP_409_CONFLICT),
    (clinic_errors.KeyProblem, status.HTTP_503_SERVICE_UNAVAILABLE),
    (clinic_errors.InvalidValue, 422),
    (CadenceError, 422),
)

_FIELD = re.compile(r"^([A-Za-z_][\w\[\]' ]*?):")


def status_for(err: CadenceError) -> int:
    for kind, code in STATUS:
        if isinstance(err, kind):
            return code
    return 422


def error_field(err: CadenceError) -> str | None:
    """The field a CadenceError names: its ``field`` (therapy's FieldError), else the text's
    head ("heart_rate: got 10; ..." -> "heart_rate")."""
    if getattr(err, "field", ""):
        return str(err.field)  # type: ignore[attr-defined]
    m = _FIELD.match(str(err))
    return m.group(1) if m else None


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(
    request: Request, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    templates = request.app.state.web.templates
    return templates.TemplateResponse(
        request, "error.html", {"code": code, "message": message}, status_code=code, headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(CadenceError)
    async def cadence_error(request: Request, err: CadenceError) -> Response:
        code = status_for(err)
        message = "not found" if code == 404 else str(err)
        if wants_json(request):
            if code == 422:
                field = error_field(err)
                loc = ["body", field] if field else ["body"]
                if isinstance(err, clinic_errors.OutOfRange) and (
                        field is None or field in request.path_params):
                    loc = ["path"]  # as an out-of-range number the database refused (hardening)
                detail = [{"loc": loc, "msg": message, "type": "value_error"}]
                return JSONResponse({"detail": detail}, status_code=code)
            return JSONResponse({"detail": message}, status_code=code)
        return _page(request, code, message)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, err: QueueFull) -> Response:
        headers = {"Retry-After": str(err.retry_after)}
        if wants_json(request):
            return JSONResponse({"detail": str(err)}, status_code=err.status, headers=headers)
        return _page(request, err.status, str(err), headers)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, err: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        headers = dict(err.headers or {})
        if wants_json(request) or err.status_code in (204, 304):
            return JSONResponse(
                {"detail": err.detail}, status_code=err.status_code, headers=headers
            )
        return _page(request, err.status_code, str(err.detail), headers)
