"""The clinic schema: clinicians, patients (encrypted fields), consent, preferences, baselines,
files, sessions, feedback, outcomes and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


def upgrade() -> None:
    op.create_table(
        "clinic_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "clinicians",
        _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'therapist')", name="ck_clinician_role"),
    )
    op.create_table(
        "patients",
        _id(),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "therapist_id",
            sa.Integer,
            sa.ForeignKey("clinicians.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("name_enc", sa.LargeBinary, nullable=False),
        sa.Column("birth_year_enc", sa.LargeBinary, nullable=True),
        sa.Column("contact_enc", sa.LargeBinary, nullable=True),
        sa.Column("notes_enc", sa.LargeBinary, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "consents",
        _id(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("given", sa.Boolean, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("liked_instruments", sa.JSON, nullable=False),
        sa.Column("disliked_instruments", sa.JSON, nullable=False),
        sa.Column("liked_styles", sa.JSON, nullable=False),
        sa.Column("disliked_styles", sa.JSON, nullable=False),
        sa.Column("youth_from", sa.Integer, nullable=True),
        sa.Column("youth_to", sa.Integer, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "files",
        _id(),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("suffix", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "favourites",
        _id(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("title_enc", sa.LargeBinary, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "baselines",
        _id(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("resting_heart_rate", sa.Float, nullable=True),
        sa.Column("cadence_spm", sa.Float, nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "therapy_sessions",
        _id(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("clinician_id", sa.Integer, sa.ForeignKey("clinicians.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("goal", sa.String(32), nullable=False),
        sa.Column("prescription", sa.JSON, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("variant", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "session_files",
        _id(),
        sa.Column("session_id", sa.Integer,
                  sa.ForeignKey("therapy_sessions.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.UniqueConstraint("session_id", "kind", name="uq_session_file_kind"),
    )
    op.create_table(
        "feedback",
        _id(),
        sa.Column("session_id", sa.Integer,
                  sa.ForeignKey("therapy_sessions.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("liked", sa.Boolean, nullable=True),
        sa.Column("comment_enc", sa.LargeBinary, nullable=True),
        sa.Column("given_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
    )
    op.create_table(
        "outcomes",
        _id(),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("session_id", sa.Integer,
                  sa.ForeignKey("therapy_sessions.id", ondelete="CASCADE"),
                  nullable=True, index=True),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("items", sa.JSON, nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.CheckConstraint("phase IN ('before', 'after')", name="ck_outcome_phase"),
    )
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("patient_code", sa.String(32), nullable=True, index=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    _append_only_audit()


def _append_only_audit() -> None:
    """The audit log refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) in the database
    itself, so no code path, buggy or not, can rewrite history."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION clinic_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION clinic_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION clinic_audit_append_only()")
    else:
        op.drop_table("audit_log")
    for table in (
        "outcomes", "feedback", "session_files", "therapy_sessions", "baselines", "favourites",
        "files", "preferences", "consents", "patients", "clinicians", "clinic_meta",
    ):
        op.drop_table(table)
