"""Clinicians: when their sign-ins last ended (a password change or disabling the account ends
every sign-in and token made before it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(sa.Column("sign_ins_ended_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("sign_ins_ended_at")
