"""Clinician accounts (admin only): list, add, disable or enable, set a password."""

from __future__ import annotations

from fastapi import APIRouter, status

from cadence.clinic import accounts
from cadence.web.deps import ApiCaller, Db
from cadence.web.schemas import ClinicianIn, ClinicianOut, ClinicianUpdateIn, PasswordIn

router = APIRouter(prefix="/clinicians", tags=["clinicians"])


@router.get("", response_model=list[ClinicianOut])
def list_clinicians(caller: ApiCaller, db: Db) -> list[ClinicianOut]:
    return [ClinicianOut.model_validate(c) for c in accounts.list_clinicians(db, caller.actor)]


@router.post("", response_model=ClinicianOut, status_code=status.HTTP_201_CREATED)
def create_clinician(body: ClinicianIn, caller: ApiCaller, db: Db) -> ClinicianOut:
    view = accounts.create_clinician(db, caller.actor, body.username, body.password, body.role)
    return ClinicianOut.model_validate(view)


@router.patch("/{clinician_id}", response_model=ClinicianOut)
def update_clinician(
    clinician_id: int, body: ClinicianUpdateIn, caller: ApiCaller, db: Db
) -> ClinicianOut:
    """Disable an account (``{"active": false}``: every sign-in and token of it ends at once)
    or enable it again (old tokens stay ended)."""
    view = accounts.set_active(db, caller.actor, clinician_id, body.active)
    return ClinicianOut.model_validate(view)


@router.put("/{clinician_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(clinician_id: int, body: PasswordIn, caller: ApiCaller, db: Db) -> None:
    """Set a new password (an admin for anyone, a clinician for themselves); every sign-in and
    token made before it ends."""
    accounts.set_password(db, caller.actor, clinician_id, body.password)
