"""API schemas: what a client sends (``*In``) and what it gets back (``*Out``), kept apart.

Responses are built from clinic's frozen views or the web tables' rows, field by field; no
database row ever leaves as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

from cadence.clinic.accounts import MAX_PASSWORD
from cadence.therapy.goals import GOALS
from cadence.therapy.request import FIELDS, Input
from cadence.web.security import TOKEN_HOURS_DEFAULT, TOKEN_HOURS_MAX
from cadence.web.store import LINK_SCOPES

Goal = Literal["sleep", "anxiety", "mood", "gait", "cognition", "pain"]
assert set(Goal.__args__) == set(GOALS), "keep Goal in step with therapy.goals.GOALS"  # type: ignore[attr-defined]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# A password exactly as typed (never stripped: the CLI keeps its spaces too); clinic's
# accounts.check_password is the one rule for new passwords.
Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=MAX_PASSWORD)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _zoned(cls, value: Any) -> Any:
        """SQLite hands datetimes back without a zone (every stored time is UTC): send them
        with one, as the schema's RFC 3339 ``date-time`` requires (found by schemathesis)."""
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# --- auth -----------------------------------------------------------------------------------
class TokenIn(In):
    username: str = Field(min_length=1, max_length=100)
    password: Password
    name: str = Field(default="api", max_length=100, description="a label for the token")
    hours: float = Field(default=TOKEN_HOURS_DEFAULT, gt=0, le=TOKEN_HOURS_MAX,
                         description="lifetime in hours; every token expires")


class TokenOut(Out):
    id: int
    token: str = Field(description="send as 'Authorization: Bearer <token>'; shown once")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime | None


class TokenInfoOut(Out):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None


class MeOut(Out):
    id: int | None
    username: str
    role: str


class ClinicianIn(In):
    username: str = Field(min_length=2, max_length=100)
    password: Password = Field(description="12+ characters, not a common password")
    role: Literal["admin", "therapist"] = "therapist"


class ClinicianUpdateIn(In):
    active: bool = Field(description="false disables the account and ends its sign-ins")


class PasswordIn(In):
    password: Password = Field(description="12+ characters, not a common password")


class ClinicianOut(Out):
    id: int
    username: str
    role: str
    active: bool


# --- patients -------------------------------------------------------------------------------
class PatientIn(In):
    name: str = Field(min_length=1, max_length=200)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    contact: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    code: str | None = Field(default=None, min_length=1, max_length=64)
    therapist_id: int | None = None


class PatientUpdateIn(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    contact: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)


class PatientSummaryOut(Out):
    code: str
    name: str
    birth_year: int | None = None
    therapist_id: int | None = None
    consent: bool = False


class PatientOut(PatientSummaryOut):
    contact: str | None = None
    notes: str | None = None
    created_at: datetime
    updated_at: datetime


class ConsentIn(In):
    given: bool
    scope: str = Field(default="sessions", max_length=50)


class ConsentOut(Out):
    patient_code: str
    given: bool
    scope: str
    recorded_by: str
    recorded_at: datetime


class BaselineIn(In):
    resting_heart_rate: float | None = Field(default=None, ge=30, le=220)
    cadence_spm: float | None = Field(default=None, ge=30, le=200)
    fall_risk: bool | None = None


class PreferencesIn(In):
    liked_instruments: list[str] = Field(default_factory=list, max_length=50)
    disliked_instruments: list[str] = Field(default_factory=list, max_length=50)
    liked_styles: list[str] = Field(default_factory=list, max_length=50)
    disliked_styles: list[str] = Field(default_factory=list, max_length=50)
    # A two-item list, not tuple[int, int]: FastAPI writes a fixed-length tuple as the draft-4
    # "items": [...] form, which is not a valid OpenAPI 3.1 schema (found by schemathesis).
    youth_years: list[int] | None = Field(default=None, min_length=2, max_length=2)


class PreferencesOut(Out):
    patient_code: str
    liked_instruments: list[str]
    disliked_instruments: list[str]
    liked_styles: list[str]
    disliked_styles: list[str]
    youth_years: list[int] | None
    updated_at: datetime


class AuditOut(Out):
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


class FileOut(Out):
    id: int = Field(description="use as favourite_id when creating a session")
    title: str | None = None
    suffix: str
    size: int


# --- sessions and jobs ----------------------------------------------------------------------
def _session_field(f: Input) -> tuple[Any, Any]:
    """(annotation, pydantic Field) of one therapy/request.py field: its bounds, help, unit
    and source. The seed defaults to None (the server draws one)."""
    unit = f" ({f.unit})" if f.unit else ""
    about = "; ".join(x for x in (f.label + unit, f.help, f"source: {f.source}") if x)
    if f.name == "goal":
        return Goal, Field(description=about)
    if f.kind == "bool":
        return bool, Field(default=False, description=about)
    if f.kind == "choice":
        return Literal[f.choices] | None, Field(default=f.default, description=about)
    if f.kind == "text":
        return str | None, Field(default=None, max_length=f.max_length, description=about)
    kind = int if f.kind == "int" else float
    if f.name == "minutes":
        return kind, Field(gt=f.low, le=f.high, description=about)
    default = None if f.name == "seed" else f.default
    return kind | None, Field(default, description=about, ge=f.low, le=f.high)


_SESSION_FIELDS: dict[str, Any] = {f.name: _session_field(f) for f in FIELDS}
_SESSION_FIELDS["favourite_id"] = (
    int | None, Field(default=None, description="a favourite tune as primer")
)
_SessionFields: Any = create_model("_SessionFields", __base__=In, **_SESSION_FIELDS)


class SessionIn(_SessionFields):  # type: ignore[misc,valid-type]
    """A session request: the goal, the prescription inputs, sampling and the primer use, one
    field per entry of therapy/request.py's FIELDS (bounds, unit and source there). The server
    plans it as the job will, and a value out of bounds is a 422 naming the field."""


class JobOut(Out):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    stage: str
    progress: float = Field(description="0..1")
    bars_done: int
    bars_total: int
    progress_text: str = Field(description="the progress in words, e.g. 'composing bar 3 of 8'")
    patient_code: str
    goal: str
    session_id: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str] = Field(default_factory=dict)


class SessionOut(Out):
    id: int
    patient_code: str
    goal: str
    created_at: datetime | None = None
    prescription: dict[str, Any] = Field(default_factory=dict)
    report: dict[str, Any] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict)


# --- feedback and outcomes ------------------------------------------------------------------
class FeedbackIn(In):
    rating: int = Field(ge=1, le=5)
    liked: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(Out):
    id: int
    session_id: int
    patient_code: str
    given_by: str
    created_at: datetime
    rating: int
    liked: bool | None = None
    comment: str | None = None
    seen: bool = Field(True, description="false until the patient's therapist has seen it")


class OutcomeIn(In):
    measure: str = Field(min_length=1, max_length=40, description="see /outcomes/measures")
    phase: Literal["before", "after"]
    value: float | None = Field(default=None, description="on the measure's scale")
    items: list[int] | None = Field(
        default=None, min_length=6, max_length=6, description="stai6 only: six items, 1-4"
    )
    session_id: int | None = None


class OutcomeOut(Out):
    id: int
    patient_code: str
    measure: str
    phase: str
    value: float
    unit: str
    session_id: int | None = None
    recorded_at: datetime | None = None


class MeasureOut(Out):
    name: str
    unit: str
    low: float
    high: float
    source: str


# --- patient links --------------------------------------------------------------------------
class LinkIn(In):
    session_id: int
    scope: str = Field(
        default="session",
        description="session: this session only; course: the patient's latest sessions",
        json_schema_extra={"enum": list(LINK_SCOPES)},
    )

    @field_validator("scope")
    @classmethod
    def _known_scope(cls, value: str) -> str:
        if value not in LINK_SCOPES:
            raise ValueError(f"must be one of {', '.join(LINK_SCOPES)}")
        return value
    hours: float | None = Field(default=None, gt=0, le=24 * 90)


class LinkOut(Out):
    id: int
    session_id: int
    scope: str
    url: str = Field(description="the patient's listening page; shown once")
    expires_at: datetime


class LinkInfoOut(Out):
    id: int
    session_id: int
    scope: str
    created_at: datetime
    expires_at: datetime
    opened_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None
