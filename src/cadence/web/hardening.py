"""Small guards around the app, installed by ``create_app`` (:func:`install`).

- Secrets in URLs stay out of the logs: a patient's listening link carries its token in the
  path (``/listen/<token>``) and uvicorn's access log writes every request path, so
  :class:`RedactSecretPaths` rewrites those tokens to ``/listen/[redacted]``.
- A number the database cannot hold is the caller's error, not the server's: an id such as
  ``/api/v1/jobs/9223372036854775808`` made SQLite's driver raise OverflowError (PostgreSQL:
  DataError, "integer out of range") and the app answer 500 (found by schemathesis;
  tests/reliability). Raised from the database layer, they answer 422 like any bad value.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError

from cadence.web import errors

SECRET_PATH = re.compile(r"(/listen/)[^/?#\s\"]+")
REDACTED = r"\1[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")
OUT_OF_RANGE = "a number or value is out of the range the records can hold"


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

    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
