"""Therapy sessions: goal, prescription, adherence report, personalisation variant, and the
output files (kept by content hash in the file store)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import patient_row, session_row
from cadence.clinic.actors import Actor
from cadence.clinic.errors import ConsentRequired, InvalidValue, NotFound
from cadence.clinic.files import store_file
from cadence.clinic.models import Patient, SessionFile, StoredFile, TherapySession
from cadence.clinic.patients import current_consent, file_view
from cadence.clinic.views import FileView, SessionView
from cadence.therapy.goals import GOALS

KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
MAX_JSON_BYTES = 2 * 1024 * 1024


def _json(name: str, value: object, *, optional: bool = False) -> dict[str, Any] | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise InvalidValue(f"{name}: must be a JSON object (dict), got {type(value).__name__}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidValue(f"{name}: not JSON-serialisable ({err})") from None
    if len(text) > MAX_JSON_BYTES:
        raise InvalidValue(f"{name}: {len(text)} bytes of JSON; the limit is {MAX_JSON_BYTES}")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _files_of(db: Session, session_id: int) -> dict[str, FileView]:
    pairs = db.execute(
        select(SessionFile, StoredFile)
        .join(StoredFile, StoredFile.id == SessionFile.file_id)
        .where(SessionFile.session_id == session_id)
        .order_by(SessionFile.kind)
    ).all()
    return {sf.kind: file_view(db, f, kind=sf.kind) for sf, f in pairs}


def session_view(db: Session, row: TherapySession, patient: Patient) -> SessionView:
    return SessionView(
        id=row.id, patient_code=patient.code, goal=row.goal, prescription=dict(row.prescription),
        report=dict(row.report), variant=dict(row.variant) if row.variant is not None else None,
        files=_files_of(db, row.id), clinician_id=row.clinician_id, created_at=row.created_at,
    )


def record_session(
    db: Session,
    actor: Actor,
    code: str,
    *,
    goal: str,
    prescription: dict[str, Any],
    files: dict[str, Path],
    report: dict[str, Any],
    variant: dict[str, Any] | None = None,
) -> SessionView:
    """Store a finished session for patient ``code``; the patient must have consented to
    sessions (:class:`ConsentRequired` otherwise). ``files`` maps a kind (``wav``, ``mid``,
    ``musicxml``, ``svg``, ``png``, ``prescription``, ``report``...) to a file, copied into
    the store by content hash."""
    if goal not in GOALS:
        raise InvalidValue(f"goal: got {goal!r}; must be one of {', '.join(GOALS)}")
    prescription_json = _json("prescription", prescription)
    report_json = _json("report", report)
    variant_json = _json("variant", variant, optional=True)
    for kind, path in files.items():
        if not KIND.match(kind):
            raise InvalidValue(f"file kind: got {kind!r}; use lower-case letters and digits")
        if not Path(path).is_file():
            raise InvalidValue(f"file {kind}: {str(path)!r} does not exist or is not a file")
    row = patient_row(db, actor, code)
    if not current_consent(db, row.id, "sessions"):
        raise ConsentRequired(
            f"patient {row.code} has not consented to stored sessions; record consent first "
            f"(cadence patient consent {row.code} --given)"
        )
    assert prescription_json is not None and report_json is not None
    session = TherapySession(
        patient_id=row.id, clinician_id=actor.clinician_id, goal=goal,
        prescription=prescription_json, report=report_json, variant=variant_json,
    )
    db.add(session)
    db.flush()
    for kind, path in sorted(files.items()):
        stored = store_file(db, Path(path))
        db.add(SessionFile(session_id=session.id, kind=kind, file_id=stored.id))
    db.flush()
    audit.record(db, actor, "create", "therapy_sessions", session.id, patient_code=row.code,
                 detail=f"goal={goal}; files={','.join(sorted(files))}")
    return session_view(db, session, row)


def list_sessions(db: Session, actor: Actor, code: str) -> list[SessionView]:
    """The patient's sessions, oldest first."""
    row = patient_row(db, actor, code)
    rows = db.scalars(select(TherapySession).where(TherapySession.patient_id == row.id)
                      .order_by(TherapySession.id))
    audit.record(db, actor, "read", "therapy_sessions", patient_code=row.code)
    return [session_view(db, s, row) for s in rows]


def belongs_to(db: Session, session_id: int, code: str) -> bool:
    """Whether session ``session_id`` exists and is patient ``code``'s (reads no patient data;
    a reference kept outside the clinic, such as a listening link, checks it before use)."""
    found = db.scalar(select(Patient.code).join(TherapySession,
                                                TherapySession.patient_id == Patient.id)
                      .where(TherapySession.id == session_id))
    return found is not None and found == code


def get_session(db: Session, actor: Actor, session_id: int) -> SessionView:
    row, patient = session_row(db, actor, session_id)
    audit.record(db, actor, "read", "therapy_sessions", row.id, patient_code=patient.code)
    return session_view(db, row, patient)


def session_file(db: Session, actor: Actor, session_id: int, kind: str) -> Path:
    """The stored file of one kind (wav, mid, musicxml, svg, png...) of a session."""
    row, patient = session_row(db, actor, session_id)
    found = _files_of(db, row.id).get(kind)
    if found is None:
        raise NotFound(f"session {session_id} has no {kind!r} file")
    audit.record(db, actor, "read", "session_files", row.id, patient_code=patient.code,
                 detail=kind)
    return found.path
