"""The Cadence web app and REST API (``cadence serve``); see ``docs/web.md``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from cadence.web.settings import WebSettings


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI app; see :func:`cadence.web.app.create_app`."""
    from cadence.web.app import create_app as _create_app

    return _create_app(settings)
