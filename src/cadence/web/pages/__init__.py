"""Server-rendered pages (Jinja2 and a little plain JS; no front-end build)."""

from __future__ import annotations

from fastapi import APIRouter

from cadence.web.pages import audit, auth, clinicians, listen, patients, reports, sessions

router = APIRouter(include_in_schema=False)
for module in (auth, patients, sessions, reports, listen, clinicians, audit):
    router.include_router(module.router)
