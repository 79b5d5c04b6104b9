"""Alembic environment: runs on the connection that :func:`cadence.clinic.db.migrate` passes in
``config.attributes["connection"]``, or on ``sqlalchemy.url`` when run by the ``alembic`` tool.

Only the clinic's own tables are compared and migrated (web/ keeps its ``web_`` tables in the
same database). On PostgreSQL a transaction-scoped advisory lock serialises concurrent upgrades
from several web workers starting at once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.schema import SchemaItem

from cadence.clinic.models import Base

VERSION_TABLE = "clinic_alembic_version"
ADVISORY_LOCK_ID = 7_243_001  # arbitrary, fixed: "clinic migrations"

config = context.config
target_metadata = Base.metadata


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in target_metadata.tables or name == VERSION_TABLE


def _include_object(
    obj: SchemaItem, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return type_ != "table" or name in target_metadata.tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_include_name,
        include_object=_include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})"))
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or run through cadence.clinic.db.migrate")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the clinic migrations run online only (cadence.clinic.db.migrate)")
run_migrations_online()
