"""Opening the clinic: engine, migrations to head, the master key, the file store.

``open_clinic()`` gives a :class:`Clinic`; ``with clinic.session() as db:`` is one transaction,
committed on success and rolled back on any exception, so a service call never leaves a
record half written. SQLite (the embedded default) runs in WAL mode with foreign keys on and
``secure_delete`` (deleted rows are overwritten, not left in free pages); PostgreSQL comes
through ``CADENCE_DATABASE_URL`` (``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cadence.clinic.config import PRIVATE_DIR, ClinicConfig, make_private
from cadence.clinic.crypto import Cipher, new_key_text, parse_key, write_key_file
from cadence.clinic.errors import KeyProblem, Unavailable
from cadence.clinic.files import FileStore
from cadence.clinic.models import Meta

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "clinic_alembic_version"
KEY_CHECK = "key_check"


@dataclass
class Clinic:
    """An open clinic: ``engine``, ``config``, ``cipher`` (the master key), ``files``."""

    engine: Engine
    config: ClinicConfig
    cipher: Cipher
    files: FileStore
    _sessions: sessionmaker[Session] = field(repr=False, init=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back (and undo file copies) on any error."""
        db = self._sessions()
        db.info["clinic"] = self
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            _run_hooks(db, "after_rollback")
            raise
        else:
            _run_hooks(db, "after_commit")
        finally:
            db.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Clinic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_hooks(db: Session, name: str) -> None:
    hooks: list[Callable[[], None]] = db.info.pop(name, [])
    for hook in hooks:
        try:
            hook()
        except OSError as err:  # a file already gone is not worth failing a committed change
            log.warning("clinic %s hook failed: %s", name, err)


def clinic_of(db: Session) -> Clinic:
    """The :class:`Clinic` a session was opened by (services reach the key and files here)."""
    clinic = db.info.get("clinic")
    if not isinstance(clinic, Clinic):
        raise RuntimeError("open database sessions with Clinic.session()")
    return clinic


def normal_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normal_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLAlchemy, not the sqlite3 module, decides where transactions begin (_sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    """Every clinic transaction writes (at least its audit entry), so take the write lock at
    BEGIN: a deferred transaction that reads and then writes fails at once with "database is
    locked" when another writer committed in between (WAL snapshots), while BEGIN IMMEDIATE
    waits its turn (busy_timeout)."""
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run the clinic's Alembic migrations up to ``revision`` on ``engine``."""
    cfg = alembic_config()
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        return
    # SQLite: a migration that rebuilds a table (copy, drop, rename) must run with foreign keys
    # off, or dropping the old table would cascade-delete its children; the pragma only takes
    # effect outside a transaction, and the keys are checked before the upgrade commits.
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left broken foreign keys: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _configured_key(config: ClinicConfig) -> Cipher | None:
    if config.secret_key:
        return Cipher(parse_key(config.secret_key, "CADENCE_SECRET_KEY"), "CADENCE_SECRET_KEY")
    if config.key_file.exists():
        text = config.key_file.read_text(encoding="ascii", errors="replace")
        return Cipher(parse_key(text, str(config.key_file)), str(config.key_file))
    return None


def _load_cipher(engine: Engine, config: ClinicConfig) -> Cipher:
    """The master key, checked against the database's key check value (created on first run,
    together with ``<home>/secret.key`` when no ``CADENCE_SECRET_KEY`` is set)."""
    cipher = _configured_key(config)
    with Session(engine) as db:
        check = db.scalar(select(Meta.value).where(Meta.name == KEY_CHECK))
    if check is not None:
        if cipher is None:
            raise KeyProblem(
                f"no encryption key: set CADENCE_SECRET_KEY or put back {config.key_file} "
                "(this database was encrypted with a key that is not here)"
            )
        if not cipher.matches(check):
            raise KeyProblem(
                f"the encryption key from {cipher.source} is not the key this database was "
                "written with; set the right CADENCE_SECRET_KEY or restore its key file"
            )
        return cipher
    if cipher is None:
        with contextlib.suppress(FileExistsError):  # another process made it just now
            write_key_file(config.key_file, new_key_text())
        cipher = _configured_key(config)
        assert cipher is not None
    try:
        with Session(engine) as db, db.begin():
            db.add(Meta(name=KEY_CHECK, value=cipher.check_value()))
    except IntegrityError:  # another process initialised the database at the same moment
        return _load_cipher(engine, config)
    return cipher


def open_clinic(config: ClinicConfig | None = None) -> Clinic:
    """Open (and on first run create) the clinic: migrations to head, key checked."""
    config = config or ClinicConfig.from_env()
    make_private(config)  # owner-only home, database and files, before anything is written
    engine = make_engine(config.database_url)
    try:
        migrate(engine)
        cipher = _load_cipher(engine, config)
    except OperationalError as err:
        engine.dispose()
        raise Unavailable(f"cannot open the clinic database: {err.orig}") from None
    except BaseException:
        engine.dispose()
        raise
    files = FileStore(config.files_dir)
    files.root.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    clinic = Clinic(engine=engine, config=config, cipher=cipher, files=files)
    _seal_what_was_plaintext(clinic)
    return clinic


def _seal_what_was_plaintext(clinic: Clinic) -> None:
    """Data an older version kept in plaintext is sealed with the key just loaded (migrations
    have no key): preferences before migration 0004."""
    from cadence.clinic.patients import seal_plaintext_preferences

    with clinic.session() as db:
        sealed = seal_plaintext_preferences(db)
    if sealed:
        log.info("sealed the plaintext preferences of %d patients", sealed)
