"""Privacy operations: export one patient's data, erase a patient, back up and restore the
clinic, rotate the master key.

Erasure deletes every row of the patient (consents, preferences, favourites, baselines,
sessions with their files and feedback, outcomes), the files no one else references, and the
patient's wrapped data key with the patient row (crypto-shredding: a stray copy of a ciphertext
can no longer be decrypted). On SQLite, ``secure_delete`` zeroes the deleted rows and the WAL is
checkpointed and truncated and the file vacuumed after the erasure commits, so no byte of the
patient remains in the database files. On PostgreSQL the patient tables get ``VACUUM FULL``;
older WAL segments and backups may still hold the wrapped key until they age out, so rotate the
master key afterwards (and discard the old key) for the key material to be gone everywhere.
The audit log keeps a tombstone entry (the pseudonymous code, no plaintext).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cadence.clinic import audit
from cadence.clinic.access import patient_row, require_admin
from cadence.clinic.actors import Actor
from cadence.clinic.crypto import Cipher, new_key_text, parse_key, write_key_file
from cadence.clinic.db import KEY_CHECK, Clinic, clinic_of, current_revision, migrate
from cadence.clinic.errors import InvalidValue, KeyProblem, Unavailable
from cadence.clinic.files import on_commit, release_files
from cadence.clinic.models import (
    Baseline,
    Consent,
    Favourite,
    Feedback,
    Meta,
    Outcome,
    Patient,
    Preferences,
    SessionFile,
    TherapySession,
)
from cadence.clinic.views import PatientView

log = logging.getLogger(__name__)

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "cadence.db"
PG_FILE = "cadence.dump"
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
    db.expunge(row)
    gone("patients", delete(Patient).where(Patient.id == pid))
    removed = release_files(db, file_ids)
    audit.record(db, actor, "erase", "patients", pid, patient_code=code,
                 detail=f"{sum(counts.values())} rows, {removed} files")
    clinic = clinic_of(db)
    on_commit(db, lambda: scrub(clinic))
    return ErasureReport(code=code, rows=counts, files_removed=removed)


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
                conn.execute(text("VACUUM FULL " + ", ".join(PATIENT_TABLES)))
    except sqlite3.Error as err:
        log.warning("erased, but could not compact the database: %s", err)
    except SQLAlchemyError as err:  # the erasure itself is committed; say the scrub failed
        log.warning("erased, but could not compact the database: %s", err)


# --- backup and restore ------------------------------------------------------------------


def _libpq(clinic: Clinic) -> tuple[str, dict[str, str]]:
    """A libpq connection URI (no driver, no password) and the environment with PGPASSWORD."""
    url = make_url(clinic.config.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: $CADENCE_PG_BIN, PATH, else the newest Debian one."""
    folders = [os.environ.get("CADENCE_PG_BIN", "")]
    folders += [f"/usr/lib/postgresql/{v}/bin" for v in ("17", "16", "15")]
    for folder in folders:
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} not found: install postgresql-client (apt-get install "
                          "postgresql-client) or set CADENCE_PG_BIN")
    return found


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False,
                            timeout=3600)
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise Unavailable(f"{Path(args[0]).name} failed: {tail[0]}")


def _key_check(clinic: Clinic) -> bytes:
    with clinic.session() as db:
        value = db.scalar(select(Meta.value).where(Meta.name == KEY_CHECK))
    assert value is not None
    return bytes(value)


def backup(clinic: Clinic, dest: Path) -> Path:
    """A consistent copy of the clinic in the folder ``dest``: the database (SQLite's online
    backup API, or ``pg_dump -Fc``), ``files/`` and ``manifest.json``. The data stays
    encrypted: keep the master key separately, a backup cannot be read without it."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise InvalidValue(f"backup folder {str(dest)!r} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o700)
    if clinic.dialect == "sqlite":
        raw = clinic.engine.raw_connection()
        try:
            target = sqlite3.connect(dest / SQLITE_FILE)
            try:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                target.close()
        finally:
            raw.close()
        database = SQLITE_FILE
    elif clinic.dialect == "postgresql":
        uri, env = _libpq(clinic)
        _run_tool([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                   "--file", str(dest / PG_FILE), "--dbname", uri], env)
        database = PG_FILE
    else:
        raise Unavailable(f"backup does not support the {clinic.dialect} dialect")
    (dest / database).chmod(0o600)
    files = clinic.files.all_files()
    for path in files:
        relative = path.relative_to(clinic.files.root)
        (dest / "files" / relative.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / "files" / relative)
    manifest = {
        "format": BACKUP_FORMAT,
        "dialect": clinic.dialect,
        "database": database,
        "revision": current_revision(clinic.engine),
        "created_at": datetime.now(UTC).isoformat(),
        "files": len(files),
        "key_check": base64.b64encode(_key_check(clinic)).decode("ascii"),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with clinic.session() as db:
        audit.record(db, Actor.system(), "backup", "clinic", detail=f"{len(files)} files")
    return dest


def _manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InvalidValue(f"{str(src)!r} is not a Cadence backup (no readable "
                           f"{MANIFEST})") from None
    if manifest.get("format") != BACKUP_FORMAT:
        raise InvalidValue(f"backup format {manifest.get('format')!r} is not supported")
    return manifest


def restore(clinic: Clinic, src: Path) -> None:
    """Replace the clinic's database and files with the backup in ``src``. The backup must
    come from the same kind of database and have been made under the current master key
    (rotate after restoring, not before). Stop the web app while restoring."""
    src = Path(src)
    manifest = _manifest(src)
    if manifest.get("dialect") != clinic.dialect:
        raise InvalidValue(f"this backup is of a {manifest.get('dialect')} database; the clinic "
                           f"runs on {clinic.dialect}")
    check = base64.b64decode(str(manifest.get("key_check", "")))
    if not clinic.cipher.matches(check):
        raise KeyProblem("this backup was made under a different master key; set "
                         "CADENCE_SECRET_KEY (or secret.key) to that key to restore it")
    database = src / str(manifest["database"])
    if not database.is_file():
        raise InvalidValue(f"backup database {str(database)!r} is missing")
    clinic.engine.dispose()
    if clinic.dialect == "sqlite":
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        raw = clinic.engine.raw_connection()
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            raw.close()
            source.close()
    else:
        uri, env = _libpq(clinic)
        _run_tool([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                   "--no-privileges", "--single-transaction", "--dbname", uri, str(database)],
                  env)
    clinic.engine.dispose()
    _replace_files(clinic, src / "files")
    migrate(clinic.engine)
    with clinic.session() as db:
        audit.record(db, Actor.system(), "restore", "clinic",
                     detail=f"backup of {manifest.get('created_at')}")


def _replace_files(clinic: Clinic, backup_files: Path) -> None:
    wanted = {p.relative_to(backup_files): p for p in backup_files.rglob("*") if p.is_file()} \
        if backup_files.exists() else {}
    for path in clinic.files.all_files():
        if path.relative_to(clinic.files.root) not in wanted:
            path.unlink()
    for relative, path in wanted.items():
        target = clinic.files.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


# --- key rotation ------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    """``new_key`` is set only when the old key came from ``CADENCE_SECRET_KEY``: the operator
    must put it there, as the database no longer opens with the old one."""

    rewrapped: int
    key_file: Path | None
    new_key: str | None


def rotate_key(clinic: Clinic, new_key: str | None = None) -> RotationReport:
    """Re-wrap every patient's data key (and the key check value) under a new master key, in
    one transaction. With a key file, the new key replaces it atomically after the commit (it
    waits in ``secret.key.new`` meanwhile); backups made before need the old key."""
    text_key = new_key or new_key_text()
    new = Cipher(parse_key(text_key, "the new key"), "the new key")
    from_env = bool(clinic.config.secret_key)
    pending = clinic.config.key_file.with_name(clinic.config.key_file.name + ".new")
    if not from_env:
        pending.unlink(missing_ok=True)
        write_key_file(pending, text_key)
    old = clinic.cipher
    try:
        with clinic.session() as db:
            rows = list(db.scalars(select(Patient).with_for_update()))
            for row in rows:
                row.wrapped_key = new.wrap(old.unwrap(row.wrapped_key))
            meta = db.get(Meta, KEY_CHECK)
            assert meta is not None
            meta.value = new.check_value()
            audit.record(db, Actor.system(), "rotate-key", "clinic",
                         detail=f"{len(rows)} data keys re-wrapped")
    except BaseException:
        if not from_env:
            pending.unlink(missing_ok=True)
        raise
    if from_env:
        clinic.cipher = Cipher(parse_key(text_key, "CADENCE_SECRET_KEY"), "CADENCE_SECRET_KEY")
        return RotationReport(rewrapped=len(rows), key_file=None, new_key=text_key)
    pending.replace(clinic.config.key_file)
    clinic.cipher = Cipher(parse_key(text_key, str(clinic.config.key_file)),
                           str(clinic.config.key_file))
    return RotationReport(rewrapped=len(rows), key_file=clinic.config.key_file, new_key=None)
