"""The clinic's tables as typed SQLAlchemy 2 models.

Columns ending in ``_enc`` hold AES-GCM ciphertext under the patient's data key (see
:mod:`cadence.clinic.crypto`); nothing else about a patient identifies them. Measurements
(baselines, outcomes, prescriptions, reports) stay in the clear under the pseudonymous code so
that outcome statistics can query them. The schema is created by the Alembic migrations in
``migrations/versions``; keep the two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSON, bytes: LargeBinary,
    }


# Row ids are never reused (SQLite's AUTOINCREMENT; PostgreSQL's sequences never go back): an id
# in a link, a job or a URL can never come to name another patient's record after an erasure.
NEVER_REUSED = {"sqlite_autoincrement": True}


def _patient_fk() -> ForeignKey:
    return ForeignKey("patients.id", ondelete="CASCADE")


class Meta(Base):
    """Small facts about the database itself: the master key's check value."""

    __tablename__ = "clinic_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes]


class Clinician(Base):
    __tablename__ = "clinicians"
    __table_args__ = (CheckConstraint("role IN ('admin', 'therapist')", name="ck_clinician_role"),
                      NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every sign-in and token made before this moment is over (a password change, disabling).
    sign_ins_ended_at: Mapped[datetime | None]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), index=True
    )
    wrapped_key: Mapped[bytes]
    name_enc: Mapped[bytes]
    birth_year_enc: Mapped[bytes | None]
    contact_enc: Mapped[bytes | None]
    notes_enc: Mapped[bytes | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_patient_fk(), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    given: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Preferences(Base):
    __tablename__ = "preferences"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    # Every preference, sealed as one JSON object (clinic.patients.set_preferences).
    data_enc: Mapped[bytes | None]
    # Plaintext of databases before migration 0004: open_clinic seals and empties them, and
    # nothing writes them (a later migration drops them).
    liked_instruments: Mapped[list[str]] = mapped_column(JSON, default=list)
    disliked_instruments: Mapped[list[str]] = mapped_column(JSON, default=list)
    liked_styles: Mapped[list[str]] = mapped_column(JSON, default=list)
    disliked_styles: Mapped[list[str]] = mapped_column(JSON, default=list)
    youth_from: Mapped[int | None]
    youth_to: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFile(Base):
    """A file in the content-addressed store (``<home>/files/<ab>/<sha256><suffix>``)."""

    __tablename__ = "files"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    suffix: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_patient_fk(), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    title_enc: Mapped[bytes | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Baseline(Base):
    __tablename__ = "baselines"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_patient_fk(), index=True)
    resting_heart_rate: Mapped[float | None] = mapped_column(Float)
    cadence_spm: Mapped[float | None] = mapped_column(Float)
    fall_risk: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class TherapySession(Base):
    __tablename__ = "therapy_sessions"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_patient_fk(), index=True)
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL")
    )
    goal: Mapped[str] = mapped_column(String(32))
    prescription: Mapped[dict[str, Any]]
    report: Mapped[dict[str, Any]]
    variant: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionFile(Base):
    __tablename__ = "session_files"
    __table_args__ = (UniqueConstraint("session_id", "kind", name="uq_session_file_kind"),
                      NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
                      NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    liked: Mapped[bool | None] = mapped_column(Boolean)
    comment_enc: Mapped[bytes | None]
    given_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the responsible therapist first saw it; None: new (a patient's rating or comment).
    seen_at: Mapped[datetime | None]


class Outcome(Base):
    __tablename__ = "outcomes"
    __table_args__ = (CheckConstraint("phase IN ('before', 'after')", name="ck_outcome_phase"),
                      NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_patient_fk(), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True
    )
    measure: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)
    items: Mapped[list[int] | None] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). Never plaintext patient data:
    only who, when, what action, which table and row, and the pseudonymous patient code."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_code: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
