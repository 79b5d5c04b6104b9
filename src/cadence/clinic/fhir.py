"""Outcomes as FHIR R4: a ``Bundle`` (type ``collection``) of ``Observation`` resources.

Observations name the patient by the pseudonymous code only (``subject.identifier``), never by
name. Codes: LOINC where a code exists (heart rate 8867-4; pain severity 0-10 numeric rating
72514-3), else the local code system :data:`LOCAL_CODE_SYSTEM`; units are UCUM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cadence.clinic.errors import InvalidValue

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOCAL_CODE_SYSTEM = "urn:cadence:fhir:CodeSystem:outcome-measure"
PATIENT_CODE_SYSTEM = "urn:cadence:fhir:NamingSystem:patient-code"
SESSION_ID_SYSTEM = "urn:cadence:fhir:NamingSystem:session-id"
PHASE_EXTENSION = "urn:cadence:fhir:StructureDefinition:session-phase"


@dataclass(frozen=True)
class FhirCode:
    """How one measure is coded in FHIR: code system and code, display text, UCUM unit
    (``ucum`` code and readable ``unit``) and the Observation category."""

    system: str
    code: str
    display: str
    ucum: str
    unit: str
    category: str


# LOINC 8867-4 "Heart rate" (FHIR R4 vital-signs profile; UCUM /min) and LOINC 72514-3 "Pain
# severity - 0-10 verbal numeric rating [Score] - Reported". The other measures have no LOINC
# code checked by this project, so they use the local code system. UCUM: {score} is an
# annotated dimensionless unit; /min, m/s and min are UCUM units.
FHIR_CODES: dict[str, FhirCode] = {
    "heart_rate": FhirCode(LOINC, "8867-4", "Heart rate", "/min", "beats/minute", "vital-signs"),
    "pain_nrs": FhirCode(
        LOINC,
        "72514-3",
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        "{score}",
        "score",
        "survey",
    ),
    "mood_vas": FhirCode(
        LOCAL_CODE_SYSTEM,
        "mood_vas",
        "Mood, 0-100 visual analogue scale",
        "{score}",
        "score",
        "survey",
    ),
    "stai6": FhirCode(
        LOCAL_CODE_SYSTEM,
        "stai6",
        "STAI-6 anxiety, prorated (20-80)",
        "{score}",
        "score",
        "survey",
    ),
    "cadence_spm": FhirCode(
        LOCAL_CODE_SYSTEM, "cadence_spm", "Walking cadence", "/min", "steps/minute", "activity"
    ),
    "gait_speed": FhirCode(
        LOCAL_CODE_SYSTEM,
        "gait_speed",
        "Gait speed (10-metre walk test)",
        "m/s",
        "m/s",
        "activity",
    ),
    "sleep_onset_min": FhirCode(
        LOCAL_CODE_SYSTEM, "sleep_onset_min", "Sleep-onset latency", "min", "min", "survey"
    ),
    "sleep_quality": FhirCode(
        LOCAL_CODE_SYSTEM,
        "sleep_quality",
        "Sleep quality rating (1-5)",
        "{score}",
        "score",
        "survey",
    ),
    "engagement": FhirCode(
        LOCAL_CODE_SYSTEM, "engagement", "Engagement (1-5)", "{score}", "score", "survey"
    ),
    "liking": FhirCode(LOCAL_CODE_SYSTEM, "liking", "Liking (1-5)", "{score}", "score", "survey"),
}


class OutcomeLike(Protocol):
    """What a report reads of an outcome (``cadence.clinic.views.OutcomeView``)."""

    @property
    def id(self) -> int: ...
    @property
    def patient_code(self) -> str: ...
    @property
    def measure(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def session_id(self) -> int | None: ...
    @property
    def recorded_at(self) -> datetime: ...


def observation(o: OutcomeLike, goal: str | None = None) -> dict[str, Any]:
    """One outcome as a FHIR R4 Observation (subject: the pseudonymous code only)."""
    if o.measure not in FHIR_CODES:
        raise InvalidValue(f"measure {o.measure!r} has no FHIR coding")
    code = FHIR_CODES[o.measure]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"cadence-outcome-{o.id}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": code.category}]}],
        "code": {
            "coding": [{"system": code.system, "code": code.code, "display": code.display}],
            "text": code.display,
        },
        "subject": {"identifier": {"system": PATIENT_CODE_SYSTEM, "value": o.patient_code}},
        "effectiveDateTime": _fhir_datetime(o.recorded_at),
        "valueQuantity": {
            "value": float(o.value),
            "unit": code.unit,
            "system": UCUM,
            "code": code.ucum,
        },
        "extension": [{"url": PHASE_EXTENSION, "valueCode": o.phase}],
    }
    if o.session_id is not None:
        obs["identifier"] = [
            {"system": SESSION_ID_SYSTEM, "value": f"{o.session_id}/{o.measure}/{o.phase}"}
        ]
        note = f"{o.phase} Cadence session {o.session_id}"
        obs["note"] = [{"text": f"{note} (goal {goal})" if goal else note}]
    return obs


def _fhir_datetime(at: datetime) -> str:
    """FHIR dateTime: with seconds, a time zone is required; naive times are taken as UTC."""
    text = at.isoformat(timespec="seconds")
    return text if at.tzinfo is not None else text + "Z"


def fhir_bundle(outcomes: Iterable[OutcomeLike], goals: Mapping[int, str]) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection) of one Observation per outcome."""
    entries = []
    for o in sorted(outcomes, key=lambda o: (o.patient_code, o.recorded_at, o.id)):
        obs = observation(o, goals.get(o.session_id) if o.session_id is not None else None)
        entries.append({"fullUrl": f"urn:uuid:{_uuid_for(obs['id'])}", "resource": obs})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _uuid_for(name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:cadence:{name}"))
