"""The REST API under /api/v1: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from cadence.web.api import (
    audit,
    auth,
    clinicians,
    feedback,
    files,
    jobs,
    links,
    outcomes,
    patients,
    reports,
    sessions,
)

router = APIRouter(prefix="/api/v1")
for module in (
    auth,
    clinicians,
    patients,
    sessions,
    jobs,
    feedback,
    outcomes,
    reports,
    files,
    links,
    audit,
):
    router.include_router(module.router)
