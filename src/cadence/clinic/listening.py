"""What a patient's listening page reads: the sessions of their current course, the rendition
they stream, who their therapist is, and a record of each listen.

The actor is normally the patient (:meth:`Actor.patient`), who sees only their own record.
The rendition is the session's Opus file (``render.opus``): a web job writes one with every
session; a session recorded without one (by the CLI, or before Cadence made them) gets it on
its first listen from the encoder the caller passes, stored with the session like any other
file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import patient_row, session_row
from cadence.clinic.actors import Actor
from cadence.clinic.errors import NotFound
from cadence.clinic.files import release_files, store_file
from cadence.clinic.models import Clinician, SessionFile, TherapySession
from cadence.clinic.sessions import session_view
from cadence.clinic.views import SessionView

# (source audio, target .opus path) -> the target, or None when no encoder works
Encoder = Callable[[Path, Path], Path | None]
RENDITION = "opus"  # the session file kind patients stream (Ogg Opus, suffix .opus)
SOURCE_AUDIO = ("wav", "flac", "ogg")  # what a rendition is encoded from, first found
COURSE_SESSIONS = 5  # a course link lists the patient's latest sessions, at most this many


def course(db: Session, actor: Actor, code: str, limit: int = COURSE_SESSIONS) -> list[SessionView]:
    """The patient's current course: their latest ``limit`` sessions, newest first."""
    patient = patient_row(db, actor, code)
    rows = db.scalars(select(TherapySession).where(TherapySession.patient_id == patient.id)
                      .order_by(TherapySession.id.desc()).limit(limit))
    audit.record(db, actor, "read", "therapy_sessions", patient_code=patient.code,
                 detail="course")
    return [session_view(db, s, patient) for s in rows]


def therapist_name(db: Session, actor: Actor, session_id: int) -> str | None:
    """The name of the patient's therapist (else of the clinician who made the session)."""
    session, patient = session_row(db, actor, session_id)
    for clinician_id in (patient.therapist_id, session.clinician_id):
        if clinician_id is not None:
            row = db.get(Clinician, clinician_id)
            if row is not None:
                return row.username
    return None


def rendition(
    db: Session, actor: Actor, session_id: int, encode: Encoder
) -> tuple[Path, str]:
    """The file a patient streams and its kind: the session's Opus rendition, made by
    ``encode`` from its audio and stored now if it has none; the audio itself where ``encode``
    cannot (returns None). :class:`NotFound` when the session has no audio at all."""
    session, patient = session_row(db, actor, session_id)
    files = session_view(db, session, patient).files
    if RENDITION in files:
        return files[RENDITION].path, RENDITION
    source_kind = next((k for k in SOURCE_AUDIO if k in files), None)
    if source_kind is None:
        raise NotFound(f"session {session_id} has no audio")
    source = files[source_kind].path
    with tempfile.TemporaryDirectory(prefix="cadence-opus-") as tmp:
        encoded = encode(source, Path(tmp) / f"session.{RENDITION}")
        if encoded is None:
            return source, source_kind
        stored = store_file(db, encoded)
    try:
        with db.begin_nested():  # another request may have stored one a moment ago
            db.add(SessionFile(session_id=session.id, kind=RENDITION, file_id=stored.id))
    except IntegrityError:
        release_files(db, {stored.id})
        return rendition(db, actor, session_id, encode)
    audit.record(db, actor, "create", "session_files", session.id, patient_code=patient.code,
                 detail=RENDITION)
    return session_view(db, session, patient).files[RENDITION].path, RENDITION


def record_listen(db: Session, actor: Actor, session_id: int, via: str) -> None:
    """One listen of the session from its start (the audit log's ``use`` entry)."""
    session, patient = session_row(db, actor, session_id)
    audit.record(db, actor, "use", "session_files", session.id, patient_code=patient.code,
                 detail=f"listen via {via}")
