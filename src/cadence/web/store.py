"""Tables the web layer owns: sign-in sessions and API tokens, jobs, patient links, sign-in
failures.

They live on their own ``MetaData`` (prefix ``web_``) in the clinic's database, created with
``create_all`` when the app or a worker starts; the clinic contract has no such tables. Patient
data never lands here: only codes and ids that point into clinic's records. Secrets (tokens,
link keys) are stored as SHA-256 hashes.

A web table that names a patient does so in a ``patient_code`` column: the clinic's erasure
(:func:`cadence.clinic.privacy.erase_patient`) deletes every such row with the patient. Ids that
appear in URLs (jobs, links, tokens) are never reused (SQLite AUTOINCREMENT; tables made before
it are rebuilt by :func:`create_tables`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, MetaData, String, Text, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class WebBase(DeclarativeBase):
    metadata = MetaData()


NEVER_REUSED = {"sqlite_autoincrement": True}


class AuthToken(WebBase):
    """A browser sign-in (kind ``session``) or an API bearer token (kind ``api``)."""

    __tablename__ = "web_tokens"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    clinician_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Job(WebBase):
    """One generation job; its state is here so every web worker and RQ worker sees it."""

    __tablename__ = "web_jobs"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_code: Mapped[str] = mapped_column(String(64), index=True)
    clinician_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    goal: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    favourite_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    bars_done: Mapped[int] = mapped_column(Integer, default=0)
    bars_total: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    runner: Mapped[str] = mapped_column(String(16), default="local")
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


LINK_SCOPES = ("session", "course")  # one session, or the patient's latest sessions


class PatientLink(WebBase):
    """An expiring link to a patient's listening page: one session (``scope`` ``session``) or
    the patient's current course (``course``: their latest sessions), used as often as the
    patient likes until it expires or is revoked.

    The URL carries a random token (only its hash is here). The first browser to press "Start
    listening" gets a random visitor key in a cookie (its hash is stored too); from then on the
    link answers only that browser. ``opened_at`` is that moment, ``used_at`` the last listen or
    rating. ``session_id`` is the session the link was made from (for a course, its first).
    """

    __tablename__ = "web_patient_links"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    patient_code: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    clinician_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    visitor_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scope: Mapped[str] = mapped_column(String(16), default="session", server_default="session")


class LoginFailure(WebBase):
    """One failed sign-in, keyed by a hash of username and client address."""

    __tablename__ = "web_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


def create_tables(engine: Engine) -> None:
    """Create the web tables if missing; several workers starting at once may race, and the
    loser's CREATE fails harmlessly because the winner's table is there."""
    try:
        WebBase.metadata.create_all(engine)
    except (OperationalError, ProgrammingError):
        WebBase.metadata.create_all(engine)
    with engine.begin() as connection:
        _add_new_columns(connection)
        if engine.dialect.name == "sqlite":
            _never_reuse_ids(connection)


def _add_new_columns(connection: Connection) -> None:
    """Add the columns a later version gave a web table that an earlier one created (each new
    column has a server default or is nullable, so old rows read as before)."""
    postgres = connection.dialect.name == "postgresql"
    for table in WebBase.metadata.sorted_tables:
        have = {c["name"] for c in inspect(connection).get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            default = column.server_default
            tail = "" if default is None else f" NOT NULL DEFAULT '{default.arg}'"  # type: ignore[attr-defined]
            guard = "IF NOT EXISTS " if postgres else ""  # several workers may start at once
            connection.exec_driver_sql(
                f'ALTER TABLE "{table.name}" ADD COLUMN {guard}"{column.name}" {kind}{tail}'
            )


def _never_reuse_ids(connection: Connection) -> None:
    """Rebuild, with AUTOINCREMENT, the web tables a version before it created (they have no
    foreign keys, so a copy under the same name is the whole change)."""
    for table in WebBase.metadata.sorted_tables:
        if not table.dialect_kwargs.get("sqlite_autoincrement"):
            continue
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": table.name},
        ).scalar()
        if sql is None or "AUTOINCREMENT" in sql.upper():
            continue
        old = f"{table.name}_before_autoincrement"
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{old}"')
        for index in table.indexes:
            connection.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
        table.create(connection)
        connection.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{old}"'
        )
        connection.exec_driver_sql(f'DROP TABLE "{old}"')
