"""Patients under pseudonymous codes: identity (encrypted), consent, preferences, favourite
tunes, baselines."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.clinic import audit, validate
from cadence.clinic.access import fields, patient_row
from cadence.clinic.actors import Actor
from cadence.clinic.crypto import FieldCipher
from cadence.clinic.db import clinic_of
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue
from cadence.clinic.files import store_file
from cadence.clinic.models import (
    Baseline,
    Clinician,
    Consent,
    Favourite,
    Patient,
    Preferences,
    StoredFile,
    TherapySession,
    utcnow,
)
from cadence.clinic.views import (
    BaselineView,
    ConsentView,
    FileView,
    PatientSummary,
    PatientView,
    PreferencesView,
)
from cadence.errors import CadenceError
from cadence.music.archives import check_archive
from cadence.music.formats import UnreadableMusic
from cadence.therapy.preferences import instrument_name, style_name

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without doubt
CODE_LENGTH = 6
CONSENT_SCOPES = ("sessions", "research")
UPDATABLE = ("name", "birth_year", "contact", "notes", "therapist_id")
ARCHIVE_SUFFIXES = (".mxl",)  # compressed: checked for what they unpack to
FAVOURITE_SUFFIXES = (".mid", ".midi", ".abc", ".xml", ".musicxml", ".mxl", ".krn", ".wav",
                      ".flac", ".ogg", ".mp3")
# Ranges of the baselines: the same ranges `cadence session` accepts for --heart-rate and
# --cadence (README), which bracket adult resting heart rate and walking cadence.
HEART_RATE_RANGE = (30.0, 220.0)
CADENCE_RANGE = (30.0, 200.0)
LIMITS = {"name": 200, "contact": 500, "notes": 20_000, "title": 200}


def _new_code(db: Session) -> str:
    while True:
        code = "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.scalar(select(Patient.id).where(Patient.code == code)) is None:
            return code


def current_consent(db: Session, patient_id: int, scope: str = "sessions") -> bool:
    """The latest consent decision for ``scope`` (False when none was recorded)."""
    given = db.scalar(
        select(Consent.given)
        .where(Consent.patient_id == patient_id, Consent.scope == scope)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return bool(given)


def birth_year_of(cipher: FieldCipher, row: Patient) -> int | None:
    text = cipher.open(row.birth_year_enc, "birth_year")
    return int(text) if text is not None else None


def _view(db: Session, row: Patient) -> PatientView:
    cipher = fields(db, row)
    return PatientView(
        id=row.id,
        code=row.code,
        name=cipher.open(row.name_enc, "name") or "",
        birth_year=birth_year_of(cipher, row),
        contact=cipher.open(row.contact_enc, "contact"),
        notes=cipher.open(row.notes_enc, "notes"),
        therapist_id=row.therapist_id,
        consent=current_consent(db, row.id),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_therapist(db: Session, actor: Actor, therapist_id: int | None) -> int | None:
    if therapist_id is None:
        return None
    if not actor.is_admin and therapist_id != actor.clinician_id:
        raise Forbidden("only an admin may assign a patient to another clinician")
    clinician = (db.get(Clinician, therapist_id) if validate.is_id("therapist_id", therapist_id)
                 else None)
    if clinician is None or not clinician.active:
        raise InvalidValue(f"therapist_id: no active clinician {therapist_id}")
    return clinician.id


def add_patient(
    db: Session,
    actor: Actor,
    *,
    name: str,
    birth_year: int | None = None,
    contact: str | None = None,
    notes: str | None = None,
    therapist_id: int | None = None,
    code: str | None = None,
) -> PatientView:
    """A new patient (``code`` auto ``P-XXXXXX``; ``therapist_id`` defaults to the actor).

    Only admins and the system (the CLI) may choose a code: they see every patient, so a clash
    (Conflict) tells them nothing new. A therapist's patient always gets a server-assigned code,
    so no answer to a therapist ever says that a code is taken by another therapist's patient."""
    name_text = validate.text("name", name, limit=LIMITS["name"], required=True)
    birth = validate.year("birth_year", birth_year)
    contact_text = validate.text("contact", contact, limit=LIMITS["contact"])
    notes_text = validate.text("notes", notes, limit=LIMITS["notes"])
    if therapist_id is None:
        therapist_id = actor.clinician_id
    therapist = _check_therapist(db, actor, therapist_id)
    if code is None:
        code = _new_code(db)
    else:
        validate.code(code)
        if not actor.is_admin:
            raise Forbidden("code: only an admin may choose a patient's code; leave it out and "
                            "one is assigned")
        if db.scalar(select(Patient.id).where(Patient.code == code)) is not None:
            raise Conflict(f"a patient with code {code!r} already exists")
    data_key, wrapped = clinic_of(db).cipher.new_data_key()
    cipher = FieldCipher(data_key)
    sealed_name = cipher.seal(name_text, "name")
    assert sealed_name is not None
    row = Patient(
        code=code,
        therapist_id=therapist,
        wrapped_key=wrapped,
        name_enc=sealed_name,
        birth_year_enc=cipher.seal(None if birth is None else str(birth), "birth_year"),
        contact_enc=cipher.seal(contact_text, "contact"),
        notes_enc=cipher.seal(notes_text, "notes"),
    )
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "patients", row.id, patient_code=code)
    return _view(db, row)


def list_patients(db: Session, actor: Actor) -> list[PatientSummary]:
    """The patients ``actor`` may see (a therapist: their own), by code."""
    query = select(Patient).order_by(Patient.code)
    if not actor.is_admin:
        query = query.where(Patient.therapist_id == actor.clinician_id)
    rows = list(db.scalars(query))
    count_rows = db.execute(
        select(TherapySession.patient_id, func.count(TherapySession.id))
        .where(TherapySession.patient_id.in_([r.id for r in rows]))
        .group_by(TherapySession.patient_id)
    )
    counts: dict[int, int] = {int(pid): int(n) for pid, n in count_rows}
    out = []
    for row in rows:
        cipher = fields(db, row)
        out.append(
            PatientSummary(
                id=row.id,
                code=row.code,
                name=cipher.open(row.name_enc, "name") or "",
                birth_year=birth_year_of(cipher, row),
                therapist_id=row.therapist_id,
                consent=current_consent(db, row.id),
                sessions=int(counts.get(row.id, 0)),
                created_at=row.created_at,
            )
        )
    audit.record(db, actor, "read", "patients", detail=f"list of {len(out)}")
    return out


def get_patient(db: Session, actor: Actor, code: str) -> PatientView:
    row = patient_row(db, actor, code)
    audit.record(db, actor, "read", "patients", row.id, patient_code=row.code)
    return _view(db, row)


def update_patient(db: Session, actor: Actor, code: str, /, **changes: object) -> PatientView:
    """Change some of ``name``, ``birth_year``, ``contact``, ``notes``, ``therapist_id``
    (None clears an optional field)."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise InvalidValue(f"cannot update {', '.join(unknown)}; fields: {', '.join(UPDATABLE)}")
    row = patient_row(db, actor, code)
    cipher = fields(db, row)
    if "name" in changes:
        name = validate.text("name", _str(changes["name"]), limit=LIMITS["name"], required=True)
        sealed = cipher.seal(name, "name")
        assert sealed is not None
        row.name_enc = sealed
    if "birth_year" in changes:
        birth = validate.year("birth_year", _int(changes["birth_year"], "birth_year"))
        row.birth_year_enc = cipher.seal(None if birth is None else str(birth), "birth_year")
    for field in ("contact", "notes"):
        if field in changes:
            value = validate.text(field, _str(changes[field]), limit=LIMITS[field])
            setattr(row, f"{field}_enc", cipher.seal(value, field))
    if "therapist_id" in changes:
        if not actor.is_admin:
            raise Forbidden("only an admin may reassign a patient")
        row.therapist_id = _check_therapist(db, actor, _int(changes["therapist_id"],
                                                             "therapist_id"))
    row.updated_at = utcnow()
    db.flush()
    audit.record(db, actor, "update", "patients", row.id, patient_code=row.code,
                 detail=",".join(sorted(changes)))
    return _view(db, row)


def _str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidValue(f"expected text, got {value!r}")
    return value


def _int(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{name}: must be a whole number, got {value!r}")
    return value


def record_consent(
    db: Session, actor: Actor, code: str, *, given: bool, scope: str = "sessions"
) -> ConsentView:
    """Record that the patient gave (or withdrew) consent for ``scope``; the latest counts."""
    if scope not in CONSENT_SCOPES:
        raise InvalidValue(f"scope: got {scope!r}; must be one of {', '.join(CONSENT_SCOPES)}")
    row = patient_row(db, actor, code)
    consent = Consent(patient_id=row.id, scope=scope, given=bool(given),
                      recorded_by=actor.username)
    db.add(consent)
    db.flush()
    audit.record(db, actor, "create", "consents", consent.id, patient_code=row.code,
                 detail=f"{scope}={'given' if given else 'withdrawn'}")
    return ConsentView(patient_code=row.code, scope=scope, given=consent.given,
                       recorded_by=consent.recorded_by, recorded_at=consent.recorded_at)


def list_consents(db: Session, actor: Actor, code: str) -> list[ConsentView]:
    row = patient_row(db, actor, code)
    audit.record(db, actor, "read", "consents", patient_code=row.code)
    return [
        ConsentView(patient_code=row.code, scope=c.scope, given=c.given,
                    recorded_by=c.recorded_by, recorded_at=c.recorded_at)
        for c in db.scalars(select(Consent).where(Consent.patient_id == row.id)
                            .order_by(Consent.id))
    ]


def _youth(value: tuple[int, int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        start, end = value
    except (TypeError, ValueError):
        raise InvalidValue(f"youth_years: got {value!r}; give (first year, last year)") from None
    validate.year("youth_years", start)
    validate.year("youth_years", end)
    if start > end or end - start > 40:
        raise InvalidValue(f"youth_years: got {start}-{end}; a span of 0-40 years, first first")
    return int(start), int(end)


PREFERENCE_LISTS = ("liked_instruments", "disliked_instruments", "liked_styles",
                    "disliked_styles")
PREFERENCES_FIELD = "preferences"  # the sealed blob's field name (its AES-GCM associated data)


def _vocabulary(name: str, values: Iterable[str]) -> tuple[str, ...]:
    """The words of one preference list, each one the preference model knows (a General MIDI
    instrument, a style the model was trained on), in their canonical spelling."""
    known = instrument_name if name.endswith("instruments") else style_name
    out: list[str] = []
    for value in validate.words(name, values):
        try:
            word = known(value)
        except CadenceError as err:
            raise InvalidValue(f"{name}: {str(err).split(': ', 1)[-1]}") from None
        if word not in out:
            out.append(word)
    return tuple(out)


def _sealed_preferences(cipher: FieldCipher, data: dict[str, object]) -> bytes:
    sealed = cipher.seal(json.dumps(data, sort_keys=True), PREFERENCES_FIELD)
    assert sealed is not None
    return sealed


def _legacy_plaintext(row: Preferences) -> dict[str, object] | None:
    """A row's preferences still in the plaintext columns (before migration 0004), or None."""
    lists = {name: list(getattr(row, name) or []) for name in PREFERENCE_LISTS}
    youth = [row.youth_from, row.youth_to] if row.youth_from is not None else None
    if not any(lists.values()) and youth is None:
        return None
    return {**lists, "youth_years": youth}


def _clear_plaintext(row: Preferences) -> None:
    for name in PREFERENCE_LISTS:
        setattr(row, name, [])
    row.youth_from = row.youth_to = None


def seal_plaintext_preferences(db: Session) -> int:
    """Seal the preferences an older version left in plaintext, and empty those columns;
    how many rows. ``open_clinic`` runs it once the key is loaded."""
    sealed = 0
    for row in db.scalars(select(Preferences).where(Preferences.data_enc.is_(None))):
        legacy = _legacy_plaintext(row)
        patient = db.get(Patient, row.patient_id)
        if patient is None:
            continue
        row.data_enc = _sealed_preferences(fields(db, patient), legacy or {})
        _clear_plaintext(row)
        sealed += 1
    db.flush()
    return sealed


def preferences_view(db: Session, patient: Patient, row: Preferences) -> PreferencesView:
    text = fields(db, patient).open(row.data_enc, PREFERENCES_FIELD)
    data: dict[str, Any] = json.loads(text) if text is not None else (
        _legacy_plaintext(row) or {})
    youth = data.get("youth_years")
    return PreferencesView(
        patient_code=patient.code,
        liked_instruments=tuple(data.get("liked_instruments", ())),
        disliked_instruments=tuple(data.get("disliked_instruments", ())),
        liked_styles=tuple(data.get("liked_styles", ())),
        disliked_styles=tuple(data.get("disliked_styles", ())),
        youth_years=(int(youth[0]), int(youth[1])) if youth else None,
        updated_at=row.updated_at,
    )


def set_preferences(
    db: Session,
    actor: Actor,
    code: str,
    *,
    liked_instruments: Iterable[str] = (),
    disliked_instruments: Iterable[str] = (),
    liked_styles: Iterable[str] = (),
    disliked_styles: Iterable[str] = (),
    youth_years: tuple[int, int] | None = None,
) -> PreferencesView:
    """Replace the patient's preferences, sealed under their data key. Instruments are General
    MIDI names, styles those the model knows (therapy.preferences.STYLES); none may be both
    liked and disliked."""
    lists = {
        "liked_instruments": _vocabulary("liked_instruments", liked_instruments),
        "disliked_instruments": _vocabulary("disliked_instruments", disliked_instruments),
        "liked_styles": _vocabulary("liked_styles", liked_styles),
        "disliked_styles": _vocabulary("disliked_styles", disliked_styles),
    }
    both = set(lists["liked_instruments"]) & set(lists["disliked_instruments"])
    both |= set(lists["liked_styles"]) & set(lists["disliked_styles"])
    if both:
        raise InvalidValue(f"both liked and disliked: {', '.join(sorted(both))}")
    youth = _youth(youth_years)
    row = patient_row(db, actor, code)
    prefs = db.get(Preferences, row.id)
    if prefs is None:
        prefs = Preferences(patient_id=row.id)
        db.add(prefs)
    data = {name: list(words) for name, words in lists.items()}
    prefs.data_enc = _sealed_preferences(fields(db, row), {
        **data, "youth_years": list(youth) if youth is not None else None})
    _clear_plaintext(prefs)
    prefs.updated_at = utcnow()
    db.flush()
    audit.record(db, actor, "update", "preferences", row.id, patient_code=row.code)
    return preferences_view(db, row, prefs)


def get_preferences(db: Session, actor: Actor, code: str) -> PreferencesView | None:
    row = patient_row(db, actor, code)
    prefs = db.get(Preferences, row.id)
    audit.record(db, actor, "read", "preferences", row.id, patient_code=row.code)
    return preferences_view(db, row, prefs) if prefs is not None else None


def file_view(db: Session, stored: StoredFile, *, title: str | None = None,
              kind: str | None = None, record_id: int | None = None) -> FileView:
    return FileView(
        id=stored.id if record_id is None else record_id, sha256=stored.sha256,
        suffix=stored.suffix, size=stored.size,
        path=clinic_of(db).files.path(stored.sha256, stored.suffix), title=title, kind=kind,
    )


def add_favourite(
    db: Session, actor: Actor, code: str, path: Path, title: str | None = None
) -> FileView:
    """Store one of the patient's favourite tunes (a primer for sessions); the title is
    encrypted, the file is kept by content hash."""
    path = Path(path)
    if path.suffix.lower() not in FAVOURITE_SUFFIXES:
        raise InvalidValue(
            f"favourite {path.name!r}: must be one of {', '.join(FAVOURITE_SUFFIXES)}"
        )
    title_text = validate.text("title", title, limit=LIMITS["title"])
    row = patient_row(db, actor, code)
    if path.suffix.lower() in ARCHIVE_SUFFIXES:  # before anything parses or stores it
        try:
            check_archive(path)
        except UnreadableMusic as err:
            raise InvalidValue(f"favourite {path.name!r}: {err}") from None
    stored = store_file(db, path)
    fav = Favourite(patient_id=row.id, file_id=stored.id,
                    title_enc=fields(db, row).seal(title_text, "title"))
    db.add(fav)
    db.flush()
    audit.record(db, actor, "create", "favourites", fav.id, patient_code=row.code)
    return file_view(db, stored, title=title_text, record_id=fav.id)


def favourites_of(db: Session, row: Patient) -> list[FileView]:
    cipher = fields(db, row)
    pairs = db.execute(
        select(Favourite, StoredFile)
        .join(StoredFile, StoredFile.id == Favourite.file_id)
        .where(Favourite.patient_id == row.id)
        .order_by(Favourite.id)
    ).all()
    return [file_view(db, f, title=cipher.open(fav.title_enc, "title"), record_id=fav.id)
            for fav, f in pairs]


def list_favourites(db: Session, actor: Actor, code: str) -> list[FileView]:
    row = patient_row(db, actor, code)
    audit.record(db, actor, "read", "favourites", patient_code=row.code)
    return favourites_of(db, row)


def get_favourite(db: Session, actor: Actor, code: str, favourite_id: int) -> FileView:
    """The patient's favourite ``favourite_id`` (a session's primer); InvalidValue naming the
    field when the patient has no such favourite (checked when a session is asked for)."""
    row = patient_row(db, actor, code)
    found = db.execute(
        select(Favourite, StoredFile)
        .join(StoredFile, StoredFile.id == Favourite.file_id)
        .where(Favourite.id == favourite_id, Favourite.patient_id == row.id)
    ).first() if validate.is_id("favourite_id", favourite_id) else None
    if found is None:
        raise InvalidValue(f"favourite_id: got {favourite_id!r}; patient {row.code} has no "
                           "such favourite tune")
    fav, stored = found
    audit.record(db, actor, "read", "favourites", fav.id, patient_code=row.code)
    return file_view(db, stored, title=fields(db, row).open(fav.title_enc, "title"),
                     record_id=fav.id)


def baseline_view(code: str, row: Baseline) -> BaselineView:
    return BaselineView(id=row.id, patient_code=code, resting_heart_rate=row.resting_heart_rate,
                        cadence_spm=row.cadence_spm, recorded_by=row.recorded_by,
                        recorded_at=row.recorded_at, fall_risk=row.fall_risk)


def set_baseline(
    db: Session,
    actor: Actor,
    code: str,
    *,
    resting_heart_rate: float | None = None,
    cadence_spm: float | None = None,
    fall_risk: bool | None = None,
) -> BaselineView:
    """Record a new baseline (kept as history; the latest is current). A value left out is
    carried over from the previous baseline. ``fall_risk``: the patient is at risk of falling
    (a gait session then never raises the tempo)."""
    heart = validate.number("resting_heart_rate", resting_heart_rate, *HEART_RATE_RANGE)
    cadence = validate.number("cadence_spm", cadence_spm, *CADENCE_RANGE)
    if fall_risk is not None and not isinstance(fall_risk, bool):
        raise InvalidValue(f"fall_risk: got {fall_risk!r}; give yes or no")
    if heart is None and cadence is None and fall_risk is None:
        raise InvalidValue("baseline: give resting_heart_rate, cadence_spm, fall_risk or more")
    row = patient_row(db, actor, code)
    previous = latest_baseline_row(db, row.id)
    if previous is not None:
        heart = previous.resting_heart_rate if heart is None else heart
        cadence = previous.cadence_spm if cadence is None else cadence
        fall_risk = previous.fall_risk if fall_risk is None else fall_risk
    base = Baseline(patient_id=row.id, resting_heart_rate=heart, cadence_spm=cadence,
                    fall_risk=fall_risk, recorded_by=actor.username)
    db.add(base)
    db.flush()
    audit.record(db, actor, "create", "baselines", base.id, patient_code=row.code)
    return baseline_view(row.code, base)


def latest_baseline_row(db: Session, patient_id: int) -> Baseline | None:
    return db.scalar(select(Baseline).where(Baseline.patient_id == patient_id)
                     .order_by(Baseline.id.desc()).limit(1))


def get_baseline(db: Session, actor: Actor, code: str) -> BaselineView | None:
    row = patient_row(db, actor, code)
    audit.record(db, actor, "read", "baselines", patient_code=row.code)
    base = latest_baseline_row(db, row.id)
    return baseline_view(row.code, base) if base is not None else None

