"""Clinician accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cadence.clinic import accounts
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import ClinicianIn, ClinicianOut

router = APIRouter(prefix="/clinicians", tags=["clinicians"])


@router.get("", response_model=list[ClinicianOut])
def list_clinicians(caller: ApiCaller, db: Db) -> list[ClinicianOut]:
    return [ClinicianOut.model_validate(c) for c in accounts.list_clinicians(db, caller.actor)]


@router.post("", response_model=ClinicianOut, status_code=status.HTTP_201_CREATED)
def create_clinician(body: ClinicianIn, caller: ApiCaller, db: Db) -> ClinicianOut:
    view = accounts.create_clinician(db, caller.actor, body.username, body.password, body.role)
    return ClinicianOut.model_validate(view)
