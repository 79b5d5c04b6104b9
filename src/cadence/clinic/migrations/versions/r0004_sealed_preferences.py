"""Preferences sealed under the patient's data key (one AES-GCM blob, ``data_enc``).

The liked and disliked instruments and styles and the youth years were plaintext, and the
youth years give away most of the encrypted birth year (issue 17). A migration cannot seal
(it has no key), so the plaintext columns stay for one step: ``open_clinic`` seals every row
still in them and empties them, with the key it has loaded; nothing writes them any more.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("data_enc", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("data_enc")
