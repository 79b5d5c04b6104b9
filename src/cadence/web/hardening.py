"""Keep secrets in URLs out of the logs.

A patient's listening link carries its token in the path (``/listen/<token>``), and uvicorn's
access log writes every request path. :class:`RedactSecretPaths` rewrites those tokens to
``/listen/[redacted]`` in any record of the loggers it is installed on.
"""

from __future__ import annotations

import logging
import re

SECRET_PATH = re.compile(r"(/listen/)[^/?#\s\"]+")
REDACTED = r"\1[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")


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


def install() -> None:
    """Add the filter to uvicorn's loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretPaths) for f in logger.filters):
            logger.addFilter(RedactSecretPaths())
