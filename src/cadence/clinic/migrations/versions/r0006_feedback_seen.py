"""Feedback: when the responsible therapist first saw it (an unread count on the patient list
flags a patient's new comments). Feedback a clinician entered themselves counts as seen; a
patient's earlier feedback stays unread, so nothing written before this migration goes unseen.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE feedback SET seen_at = created_at "
        "WHERE given_by NOT LIKE 'link:%' AND given_by NOT LIKE 'patient %'"
    )


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("seen_at")
