"""Patients: list, add, read, update; consent, preferences' baseline, favourite tunes.

Every call goes through clinic.patients with the caller's Actor: a therapist sees only their
own patients (anyone else's code is 404), and clinic audits every read and change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from cadence.clinic import patients
from cadence.web.deps import ApiCaller, Db, State
from cadence.web.schemas import (
    BaselineIn,
    ConsentIn,
    ConsentOut,
    FileOut,
    PatientIn,
    PatientOut,
    PatientSummaryOut,
    PatientUpdateIn,
    PreferencesIn,
    PreferencesOut,
)
from cadence.web.uploads import saved_upload

router = APIRouter(prefix="/patients", tags=["patients"])


@router.get("", response_model=list[PatientSummaryOut])
def list_patients(caller: ApiCaller, db: Db) -> list[PatientSummaryOut]:
    return [PatientSummaryOut.model_validate(p) for p in patients.list_patients(db, caller.actor)]


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED)
def add_patient(body: PatientIn, caller: ApiCaller, db: Db) -> PatientOut:
    view = patients.add_patient(db, caller.actor, **body.model_dump())
    return PatientOut.model_validate(view)


@router.get("/{code}", response_model=PatientOut)
def get_patient(code: str, caller: ApiCaller, db: Db) -> PatientOut:
    return PatientOut.model_validate(patients.get_patient(db, caller.actor, code))


@router.patch("/{code}", response_model=PatientOut)
def update_patient(code: str, body: PatientUpdateIn, caller: ApiCaller, db: Db) -> PatientOut:
    fields = body.model_dump(exclude_unset=True)
    return PatientOut.model_validate(patients.update_patient(db, caller.actor, code, **fields))


@router.post("/{code}/consent", response_model=ConsentOut, status_code=status.HTTP_201_CREATED)
def record_consent(code: str, body: ConsentIn, caller: ApiCaller, db: Db) -> ConsentOut:
    view = patients.record_consent(db, caller.actor, code, given=body.given, scope=body.scope)
    return ConsentOut.model_validate(view)


@router.put("/{code}/baseline", status_code=status.HTTP_204_NO_CONTENT)
def set_baseline(code: str, body: BaselineIn, caller: ApiCaller, db: Db) -> None:
    patients.set_baseline(db, caller.actor, code, **body.model_dump())


@router.get("/{code}/preferences", response_model=PreferencesOut | None)
def get_preferences(code: str, caller: ApiCaller, db: Db) -> PreferencesOut | None:
    view = patients.get_preferences(db, caller.actor, code)
    return PreferencesOut.model_validate(view) if view is not None else None


@router.put("/{code}/preferences", response_model=PreferencesOut)
def set_preferences(code: str, body: PreferencesIn, caller: ApiCaller, db: Db) -> PreferencesOut:
    """Replace the patient's liked and disliked instruments and styles, and youth years."""
    view = patients.set_preferences(db, caller.actor, code, **body.model_dump())
    return PreferencesOut.model_validate(view)


@router.get("/{code}/favourites", response_model=list[FileOut])
def list_favourites(code: str, caller: ApiCaller, db: Db) -> list[FileOut]:
    return [FileOut.model_validate(f) for f in patients.list_favourites(db, caller.actor, code)]


@router.post(
    "/{code}/favourites",
    response_model=FileOut,
    status_code=status.HTTP_201_CREATED,
    responses={413: {"description": "over the upload limit"}, 415: {"description": "not music"}},
)
def add_favourite(
    code: str,
    file: Annotated[UploadFile, File(description="MIDI, ABC, MusicXML or kern")],
    caller: ApiCaller,
    db: Db,
    state: State,
    title: Annotated[str | None, Form(max_length=200)] = None,
) -> FileOut:
    """Upload a favourite tune (a primer for sessions)."""
    with saved_upload(file, state.settings.max_upload_bytes, state.settings) as path:
        view = patients.add_favourite(db, caller.actor, code, path, title=title or file.filename)
    return FileOut.model_validate(view)
