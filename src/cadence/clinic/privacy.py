"""Privacy operations: export one patient's data and erase a patient (backup, restore and
key rotation are in :mod:`cadence.clinic.backup`).

Erasure deletes every row of the patient (consents, preferences, favourites, baselines,
sessions with their files and feedback, outcomes), the files no one else references, and the
patient's wrapped data key with the patient row (crypto-shredding: a stray copy of a ciphertext
can no longer be decrypted). On SQLite, ``secure_delete`` zeroes the deleted rows and the WAL is
checkpointed and truncated and the file vacuumed after the erasure commits, so no byte of the
patient remains in the database files. On PostgreSQL the patient tables get ``VACUUM FULL``;
older WAL segments and backups may still hold the wrapped key until they age out, so rotate the
master key afterwards (and discard the old key) for the key material to be gone everywhere.
The audit log keeps a tombstone entry (the pseudonymous code, no plaintext).

Rows outside the clinic's own tables that name the patient do so in a ``patient_code`` column
(the web layer's jobs and listening links, ``web/store.py``); erasure deletes every such row in
the database, whoever made the table, so nothing but the append-only audit log names the
patient afterwards.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import patient_row, require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.db import VERSION_TABLE, Clinic, clinic_of
from cadence.clinic.errors import InvalidValue
from cadence.clinic.files import on_commit, release_files
from cadence.clinic.models import (
    Base,
    Baseline,
    Consent,
    Favourite,
    Feedback,
    Outcome,
    Patient,
    Preferences,
    SessionFile,
    TherapySession,
)
from cadence.clinic.views import PatientView

log = logging.getLogger(__name__)

BACKUP_FORMAT = 1
PATIENT_TABLES = ("outcomes", "feedback", "session_files", "therapy_sessions", "favourites",
                  "baselines", "preferences", "consents", "patients", "files")


# --- export ------------------------------------------------------------------------------


def _plain(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return value.name
    return value


def export_patient(db: Session, actor: Actor, code: str, dest: Path) -> Path:
    """Write all of the patient's data to ``dest/<code>/``: ``patient.json`` (every record,
    decrypted, and the audit entries about the patient) and ``files/`` (favourite tunes and
    session outputs, named by content hash). Returns that folder."""
    from cadence.clinic import feedback, history, outcomes, patients, sessions

    row = patient_row(db, actor, code)
    target = Path(dest) / row.code
    if target.exists() and any(target.iterdir()):
        raise InvalidValue(f"export folder {str(target)!r} exists and is not empty")
    view: PatientView = patients.get_patient(db, actor, row.code)
    session_views = sessions.list_sessions(db, actor, row.code)
    favourites = patients.list_favourites(db, actor, row.code)
    data = {
        "format": BACKUP_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": actor.username,
        "patient": view,
        "consents": patients.list_consents(db, actor, row.code),
        "preferences": patients.get_preferences(db, actor, row.code),
        "baselines": [
            patients.baseline_view(row.code, b)
            for b in db.scalars(select(Baseline).where(Baseline.patient_id == row.id)
                                .order_by(Baseline.id))
        ],
        "favourites": favourites,
        "sessions": session_views,
        "feedback": [f for s in session_views for f in feedback.list_feedback(db, actor, s.id)],
        "outcomes": outcomes.list_outcomes(db, actor, row.code),
        "history": history.patient_history(db, actor, row.code),
        "audit": _audit_of(db, row.code),
    }
    files = {f.path for f in favourites}
    files |= {f.path for s in session_views for f in s.files.values()}
    audit.record(db, actor, "export", "patients", row.id, patient_code=row.code,
                 detail=f"{len(files)} files")
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=_mkdir(Path(dest))))
    try:
        (staging / "files").mkdir()
        for path in sorted(files):
            shutil.copy2(path, staging / "files" / path.name)
        (staging / "patient.json").write_text(
            json.dumps(_plain(data), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (staging / "patient.json").chmod(0o600)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _audit_of(db: Session, code: str) -> list[dict[str, Any]]:
    return [_plain(v) for v in audit.list_audit(db, Actor.system(), code)]


# --- erase -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureReport:
    code: str
    rows: dict[str, int]
    files_removed: int


def erase_patient(db: Session, actor: Actor, code: str) -> ErasureReport:
    """Delete the patient, every record of theirs, the files only they reference and their
    key material; admins and the system only. Leaves an audit tombstone without plaintext."""
    require_admin(actor, "erase patients")
    row = patient_row(db, actor, code)
    pid = row.id
    session_ids = list(db.scalars(select(TherapySession.id)
                                  .where(TherapySession.patient_id == pid)))
    file_ids = set(db.scalars(select(Favourite.file_id).where(Favourite.patient_id == pid)))
    file_ids |= set(db.scalars(select(SessionFile.file_id)
                               .where(SessionFile.session_id.in_(session_ids))))
    counts: dict[str, int] = {}

    def gone(name: str, statement: Any) -> None:
        counts[name] = int(db.execute(statement).rowcount or 0)  # type: ignore[attr-defined]

    gone("outcomes", delete(Outcome).where(Outcome.patient_id == pid))
    gone("feedback", delete(Feedback).where(Feedback.session_id.in_(session_ids)))
    gone("session_files", delete(SessionFile).where(SessionFile.session_id.in_(session_ids)))
    gone("therapy_sessions", delete(TherapySession).where(TherapySession.patient_id == pid))
    gone("favourites", delete(Favourite).where(Favourite.patient_id == pid))
    gone("baselines", delete(Baseline).where(Baseline.patient_id == pid))
    gone("preferences", delete(Preferences).where(Preferences.patient_id == pid))
    gone("consents", delete(Consent).where(Consent.patient_id == pid))
    for table in naming_tables(db.connection()):
        gone(table, text(f'DELETE FROM "{table}" WHERE patient_code = :code').bindparams(
            code=row.code))
    db.expunge(row)
    gone("patients", delete(Patient).where(Patient.id == pid))
    removed = release_files(db, file_ids)
    audit.record(db, actor, "erase", "patients", pid, patient_code=code,
                 detail=f"{sum(counts.values())} rows, {removed} files")
    clinic = clinic_of(db)
    # The fine-tuned adapter learnt from the patient's own music: deleted with the records,
    # once they are gone for good (a rolled-back erasure keeps it).
    adapter = clinic.config.adapter_dir(row.code)
    on_commit(db, lambda: shutil.rmtree(adapter, ignore_errors=True))
    on_commit(db, lambda: scrub(clinic))
    return ErasureReport(code=code, rows=counts, files_removed=removed)


def naming_tables(connection: Connection) -> list[str]:
    """The tables outside the clinic's own that name a patient (a ``patient_code`` column)."""
    inspector = inspect(connection)
    return sorted(
        name for name in inspector.get_table_names()
        if name not in Base.metadata.tables and name != VERSION_TABLE
        and any(c["name"] == "patient_code" for c in inspector.get_columns(name))
    )


def scrub(clinic: Clinic) -> None:
    """Leave no deleted bytes behind: SQLite checkpoints and truncates the WAL and vacuums;
    PostgreSQL rewrites the patient tables (``VACUUM FULL``)."""
    try:
        if clinic.dialect == "sqlite":
            raw = clinic.engine.raw_connection()
            try:
                sqlite = raw.driver_connection
                assert isinstance(sqlite, sqlite3.Connection)
                for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM",
                                  "PRAGMA wal_checkpoint(TRUNCATE)"):
                    sqlite.execute(statement).fetchall()
            finally:
                raw.close()
        elif clinic.dialect == "postgresql":
            with clinic.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                tables = [*PATIENT_TABLES, *naming_tables(conn)]
                conn.execute(text("VACUUM FULL " + ", ".join(f'"{t}"' for t in tables)))
    except sqlite3.Error as err:
        log.warning("erased, but could not compact the database: %s", err)
    except SQLAlchemyError as err:  # the erasure itself is committed; say the scrub failed
        log.warning("erased, but could not compact the database: %s", err)
