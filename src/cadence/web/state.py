"""What one running app holds: settings, the clinic (engine, file store), the job runner, the
templates and the signing key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from cadence.web.settings import WebSettings

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

    from cadence.clinic.db import Clinic
    from cadence.web.jobs import Runner


@dataclass
class WebState:
    settings: WebSettings
    clinic: Clinic
    runner: Runner
    templates: Jinja2Templates
    key: bytes


def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
