"""Backup, restore and master-key rotation of the whole clinic.

A backup is a consistent copy of the database (SQLite's online backup API, or ``pg_dump
-Fc``), the file store and a manifest; the data stays encrypted, so a backup cannot be read
without the master key. Restoring checks the key before anything is replaced. Rotation
re-wraps every patient's data key under a new master key.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from cadence.clinic import audit
from cadence.clinic.actors import Actor
from cadence.clinic.crypto import Cipher, new_key_text, parse_key, write_key_file
from cadence.clinic.db import KEY_CHECK, Clinic, current_revision, migrate
from cadence.clinic.errors import InvalidValue, KeyProblem, Unavailable
from cadence.clinic.models import Meta, Patient
from cadence.clinic.privacy import BACKUP_FORMAT

MANIFEST = "manifest.json"
SQLITE_FILE = "cadence.db"
PG_FILE = "cadence.dump"


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
