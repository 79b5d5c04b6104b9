"""The content-addressed file store: ``<home>/files/<ab>/<sha256><suffix>``.

Identical content is stored once whoever it belongs to; a file row lives as long as a favourite
or a session file points at it. Disk changes follow the database transaction: a file copied in
by a transaction that rolls back is removed again, and a file released by a transaction is
deleted from disk only after that transaction commits.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cadence.clinic.errors import InvalidValue
from cadence.clinic.models import Favourite, SessionFile, StoredFile

MAX_FILE_BYTES = 512 * 1024 * 1024
_SUFFIX = re.compile(r"^(\.[a-z0-9]{1,10}){0,2}$")
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileStore:
    """Files on disk by content hash; knows nothing of the database."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, suffix: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put(self, source: Path, sha256: str, suffix: str) -> bool:
        """Copy ``source`` in under its hash; True when the file was not there before."""
        target = self.path(sha256, suffix)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def remove(self, sha256: str, suffix: str) -> None:
        self.path(sha256, suffix).unlink(missing_ok=True)

    def all_files(self) -> list[Path]:
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.rglob("*") if p.is_file())


def _store(db: Session) -> FileStore:
    from cadence.clinic.db import clinic_of

    return clinic_of(db).files


def normal_suffix(path: Path) -> str:
    suffix = "".join(path.suffixes[-1:]).lower()
    if not _SUFFIX.match(suffix):
        raise InvalidValue(f"file {path.name!r}: unsupported file name suffix {suffix!r}")
    return suffix


def store_file(db: Session, source: Path) -> StoredFile:
    """The file row for ``source``'s content, copying it into the store if new."""
    source = Path(source)
    if not source.is_file():
        raise InvalidValue(f"file {str(source)!r} does not exist or is not a file")
    size = source.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidValue(f"file {source.name!r} is {size} bytes; the limit is {MAX_FILE_BYTES}")
    suffix = normal_suffix(source)
    sha = sha256_of(source)
    row = db.scalar(select(StoredFile).where(StoredFile.sha256 == sha))
    if row is None:
        row = StoredFile(sha256=sha, suffix=suffix, size=size)
        db.add(row)
        db.flush()
    store = _store(db)
    if store.put(source, row.sha256, row.suffix):
        on_rollback(db, lambda: store.remove(row.sha256, row.suffix))
    return row


def release_files(db: Session, file_ids: set[int]) -> int:
    """Drop the rows of files no favourite or session file points at any more, and delete
    them from disk after commit. Returns how many were released."""
    store = _store(db)
    released = 0
    for file_id in sorted(file_ids):
        used = db.scalar(
            select(
                exists().where(Favourite.file_id == file_id)
                | exists().where(SessionFile.file_id == file_id)
            )
        )
        if used:
            continue
        row = db.get(StoredFile, file_id)
        if row is None:
            continue
        sha, suffix = row.sha256, row.suffix
        db.delete(row)
        on_commit(db, functools.partial(store.remove, sha, suffix))
        released += 1
    db.flush()
    return released


def on_commit(db: Session, action: Callable[[], None]) -> None:
    """Run ``action()`` once the surrounding :meth:`Clinic.session` commits."""
    db.info.setdefault("after_commit", []).append(action)


def on_rollback(db: Session, action: Callable[[], None]) -> None:
    """Run ``action()`` if the surrounding :meth:`Clinic.session` rolls back."""
    db.info.setdefault("after_rollback", []).append(action)
