"""What services return: frozen dataclasses of plain values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ClinicianView:
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime
    sign_ins_ended_at: datetime | None = None


@dataclass(frozen=True)
class PatientSummary:
    id: int
    code: str
    name: str
    birth_year: int | None
    therapist_id: int | None
    consent: bool
    sessions: int
    created_at: datetime


@dataclass(frozen=True)
class PatientView:
    id: int
    code: str
    name: str
    birth_year: int | None
    contact: str | None
    notes: str | None
    therapist_id: int | None
    consent: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConsentView:
    patient_code: str
    scope: str
    given: bool
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class PreferencesView:
    patient_code: str
    liked_instruments: tuple[str, ...]
    disliked_instruments: tuple[str, ...]
    liked_styles: tuple[str, ...]
    disliked_styles: tuple[str, ...]
    youth_years: tuple[int, int] | None
    updated_at: datetime


@dataclass(frozen=True)
class FileView:
    """A stored file. ``title`` is a favourite's (decrypted) title; ``kind`` a session file's.
    A favourite's ``id`` is the favourite's own (one patient's record, never shared by two
    patients who have the same tune)."""

    id: int
    sha256: str
    suffix: str
    size: int
    path: Path
    title: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class BaselineView:
    id: int
    patient_code: str
    resting_heart_rate: float | None
    cadence_spm: float | None
    recorded_by: str
    recorded_at: datetime
    fall_risk: bool | None = None  # None: not recorded


@dataclass(frozen=True)
class SessionView:
    id: int
    patient_code: str
    goal: str
    prescription: dict[str, Any]
    report: dict[str, Any]
    variant: dict[str, Any] | None
    files: dict[str, FileView]
    clinician_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class FeedbackView:
    id: int
    session_id: int
    patient_code: str
    rating: int
    liked: bool | None
    comment: str | None
    given_by: str
    created_at: datetime
    seen: bool = True


@dataclass(frozen=True)
class OutcomeView:
    id: int
    patient_code: str
    measure: str
    phase: str
    value: float
    unit: str
    items: tuple[int, ...] | None
    session_id: int | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_role: str
    action: str
    entity: str
    entity_id: str | None
    patient_code: str | None
    detail: str | None


@dataclass(frozen=True)
class SessionRecord:
    """One past session as therapy/ reads it (``PreferenceModel.from_history``): ``rating`` is
    the mean of its ratings, ``outcome_changes`` maps measure -> after - before."""

    session_id: int
    goal: str
    created_at: datetime
    variant: dict[str, Any] | None
    rating: float | None
    liked: bool | None
    outcome_changes: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientHistory:
    """Everything therapy/ may use to personalise a session, as plain data."""

    code: str
    birth_year: int | None
    youth_years: tuple[int, int] | None
    preferences: PreferencesView | None
    baseline: BaselineView | None
    favourites: tuple[FileView, ...]
    sessions: tuple[SessionRecord, ...]
