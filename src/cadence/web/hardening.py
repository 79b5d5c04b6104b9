"""Small guards around the app, installed by ``create_app`` (:func:`install`).

- Secrets in URLs stay out of the logs: a patient's listening link carries its token in the
  path (``/listen/<token>``) and uvicorn's access log writes every request path, so
  :class:`RedactSecretPaths` rewrites those tokens to ``/listen/[redacted]``.
- A number the database cannot hold is the caller's error, not the server's: an id such as
  ``/api/v1/jobs/9223372036854775808`` made SQLite's driver raise OverflowError (PostgreSQL:
  DataError, "integer out of range") and the app answer 500 (found by schemathesis;
  tests/reliability). Raised from the database layer, they answer 422 like any bad value.
- Past capacity is a 503 with Retry-After, not a 500: under 100 concurrent writes on SQLite
  every connection of the pool was taken for 30 s (QueuePool TimeoutError) or the write lock
  was not granted within the busy timeout ("database is locked"); both now answer 503.
"""

from __future__ import annotations

import asyncio
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadence.web import errors

SECRET_PATH = re.compile(r"(/listen/)[^/?#\s\"]+")
REDACTED = r"\1[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")
OUT_OF_RANGE = "a number or value is out of the range the records can hold"
BUSY = "the server is busy; retry shortly"
BUSY_RETRY_AFTER_S = 5
log = logging.getLogger(__name__)
# This answer is sent before the app's own header middleware runs, so it carries them itself.
BUSY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Requests per process past the door at once: below the thread pool (40) and the database
# connection pool (5 + 10), so the transaction holding SQLite's write lock always finds a thread.
MAX_IN_FLIGHT = 8


class RedactSecretPaths(logging.Filter):
    """Rewrites ``/listen/<token>`` in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = SECRET_PATH.sub(REDACTED, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_PATH.sub(REDACTED, a) if isinstance(a, str) else a for a in record.args
            )
        return True


class ConcurrencyLimit:
    """At most ``limit`` requests of this process between their first byte in and their
    response's start; the rest wait (asynchronously, holding no thread) up to ``wait_s`` and
    then get 503 with Retry-After.

    Why: a request's database transaction spans several hops through the thread pool (the
    dependency opens it, the route runs, the dependency commits). With more requests than
    threads, the threads could all be blocked waiting for SQLite's write lock while the
    transaction holding it waited for a thread to commit in: 100 concurrent writes stalled for
    the 30 s busy timeout (tests/reliability/test_crash_safety.py, test_load.py). The slot is
    given back when the response starts, so a long download never holds one.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_IN_FLIGHT, wait_s: float = 20.0) -> None:
        self.app = app
        self.limit = limit
        self.wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created inside the server's event loop
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.wait_s)
        except TimeoutError:
            headers = {"Retry-After": str(BUSY_RETRY_AFTER_S), **BUSY_HEADERS}
            response = JSONResponse({"detail": BUSY}, status_code=503, headers=headers)
            await response(scope, receive, send)
            return
        held = True

        async def send_and_release(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and held:
                held = False
                slots.release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if held:
                slots.release()


def _raised_by_database(err: BaseException) -> bool:
    tb = err.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("sqlalchemy.", "sqlite3", "psycopg")):
            return True
        tb = tb.tb_next
    return False


def install(app: FastAPI) -> None:
    """Add the log filter to uvicorn's loggers (once) and the out-of-range handlers."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretPaths) for f in logger.filters):
            logger.addFilter(RedactSecretPaths())

    async def out_of_range(request: Request, err: Exception) -> Response:
        if isinstance(err, OverflowError) and not _raised_by_database(err):
            raise err  # an overflow in Cadence's own arithmetic is a bug: let it be a 500
        if errors.wants_json(request):
            detail = [{"loc": ["path"], "msg": OUT_OF_RANGE, "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=422)
        templates = request.app.state.web.templates
        context = {"code": 422, "message": OUT_OF_RANGE}
        return templates.TemplateResponse(request, "error.html", context, status_code=422)

    async def busy(request: Request, err: Exception) -> Response:
        if isinstance(err, OperationalError) and "locked" not in str(err.orig).lower():
            raise err  # a broken database is a 500, not a busy one
        log.warning("database busy, answered 503: %s", type(err).__name__)
        headers = {"Retry-After": str(BUSY_RETRY_AFTER_S)}
        if errors.wants_json(request):
            return JSONResponse({"detail": BUSY}, status_code=503, headers=headers)
        templates = request.app.state.web.templates
        context = {"code": 503, "message": BUSY}
        return templates.TemplateResponse(
            request, "error.html", context, status_code=503, headers=headers
        )

    app.add_middleware(ConcurrencyLimit)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(PoolTimeout, busy)
    app.add_exception_handler(OperationalError, busy)
