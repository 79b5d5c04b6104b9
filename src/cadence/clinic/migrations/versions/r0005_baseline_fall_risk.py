"""Baselines: whether the patient is at risk of falling (a gait session then never raises the
tempo, THERAPY.md safety rails). Unknown (NULL) for baselines recorded before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("baselines") as batch:
        batch.add_column(sa.Column("fall_risk", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("baselines") as batch:
        batch.drop_column("fall_risk")
