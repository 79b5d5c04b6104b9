"""Row ids are never reused: SQLite tables get AUTOINCREMENT.

Without it SQLite hands the id of the newest deleted row to the next insert, so after an
erasure a session id (in a patient's listening link, a job, a URL) could name another
patient's session (issue 17). PostgreSQL's sequences never go back, so this is SQLite only.
The tables are rebuilt by Alembic's batch mode (copy, drop, rename) with foreign keys off
(``cadence.clinic.db.migrate`` turns them off around the upgrade and checks them after).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with an integer id that another row, a URL or an audit entry points at. The audit
# log itself is append-only (never deleted from), so its ids are never reused anyway.
TABLES = ("clinicians", "patients", "consents", "files", "favourites", "baselines",
          "therapy_sessions", "session_files", "feedback", "outcomes")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
