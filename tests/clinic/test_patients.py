"""Patients: encrypted identity, therapist isolation, consent, preferences, favourites,
baselines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cadence.clinic import patients
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue, NotFound
from cadence.clinic.models import Patient
from cadence.clinic.views import PatientView
from tests.clinic.conftest import SECRET_CONTACT, SECRET_NAME, SECRET_NOTES


def test_add_and_get(clinic: Clinic, therapist: Actor, patient: PatientView) -> None:
    assert patient.code.startswith("P-") and len(patient.code) == 8
    assert patient.therapist_id == therapist.clinician_id
    with clinic.session() as db:
        got = patients.get_patient(db, therapist, patient.code)
    assert (got.name, got.birth_year, got.contact, got.notes) == (
        SECRET_NAME, 1948, SECRET_CONTACT, SECRET_NOTES)
    assert got.consent is True


def test_identity_is_encrypted_at_rest(clinic: Clinic, patient: PatientView) -> None:
    with clinic.session() as db:
        row = db.scalar(select(Patient).where(Patient.code == patient.code))
        assert row is not None
        stored = b"".join(bytes(v) for v in (row.name_enc, row.birth_year_enc, row.contact_enc,
                                             row.notes_enc) if v is not None)
    for secret in (SECRET_NAME, SECRET_CONTACT, SECRET_NOTES, "1948"):
        assert secret.encode() not in stored


def test_a_therapist_sees_only_their_own_patients(
    clinic: Clinic, therapist: Actor, other_therapist: Actor, admin: Actor,
    patient: PatientView,
) -> None:
    with clinic.session() as db:
        mine = patients.add_patient(db, other_therapist, name="Other's patient")
    with clinic.session() as db:
        assert [p.code for p in patients.list_patients(db, therapist)] == [patient.code]
        assert [p.code for p in patients.list_patients(db, other_therapist)] == [mine.code]
        assert {p.code for p in patients.list_patients(db, admin)} == {patient.code, mine.code}
        for call in (
            lambda: patients.get_patient(db, other_therapist, patient.code),
            lambda: patients.update_patient(db, other_therapist, patient.code, notes="x"),
            lambda: patients.record_consent(db, other_therapist, patient.code, given=False),
            lambda: patients.set_baseline(db, other_therapist, patient.code, cadence_spm=90),
        ):
            with pytest.raises(NotFound, match="no patient"):
                call()
        with pytest.raises(Forbidden):
            patients.add_patient(db, therapist, name="x", therapist_id=other_therapist.clinician_id)


def test_update(clinic: Clinic, therapist: Actor, admin: Actor, other_therapist: Actor,
                patient: PatientView) -> None:
    with clinic.session() as db:
        got = patients.update_patient(db, therapist, patient.code, notes=None, birth_year=1950)
        assert got.notes is None and got.birth_year == 1950 and got.name == SECRET_NAME
        with pytest.raises(InvalidValue, match="cannot update"):
            patients.update_patient(db, therapist, patient.code, code="P-NEW")
        with pytest.raises(Forbidden):
            patients.update_patient(db, therapist, patient.code,
                                    therapist_id=other_therapist.clinician_id)
        moved = patients.update_patient(db, admin, patient.code,
                                        therapist_id=other_therapist.clinician_id)
        assert moved.therapist_id == other_therapist.clinician_id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "name: must not be empty"),
        ("birth_year", 1800, "birth_year: got 1800"),
        ("birth_year", 3000, "birth_year: got 3000"),
        ("contact", "x" * 501, "contact: 501 characters"),
        ("code", "bad code!", "code: got 'bad code!'"),
    ],
    ids=["empty-name", "old-birth-year", "future-birth-year", "long-contact", "bad-code"],
)
def test_invalid_values(clinic: Clinic, therapist: Actor, field: str, value: object,
                        message: str) -> None:
    args: dict[str, object] = {"name": "Someone", field: value}
    with pytest.raises(InvalidValue, match=message), clinic.session() as db:
        patients.add_patient(db, therapist, **args)  # type: ignore[arg-type]


def test_duplicate_code(clinic: Clinic, admin: Actor) -> None:
    with clinic.session() as db:
        patients.add_patient(db, admin, name="A", code="WARD-7")
    with pytest.raises(Conflict), clinic.session() as db:
        patients.add_patient(db, admin, name="B", code="WARD-7")


def test_a_therapist_never_learns_that_a_code_is_taken(clinic: Clinic, therapist: Actor,
                                                       other_therapist: Actor) -> None:
    """Issue 17: another therapist's code answered "already exists". Therapists' patients get
    server-assigned codes; asking for a code is Forbidden whether or not it is taken."""
    with clinic.session() as db:
        taken = patients.add_patient(db, other_therapist, name="Theirs").code
    for code in (taken, "FREE-1"):
        with pytest.raises(Forbidden, match="only an admin may choose"), clinic.session() as db:
            patients.add_patient(db, therapist, name="Mine", code=code)


def test_consent_latest_decision_counts(clinic: Clinic, therapist: Actor,
                                        patient: PatientView) -> None:
    with clinic.session() as db:
        withdrawn = patients.record_consent(db, therapist, patient.code, given=False)
        assert withdrawn.given is False and withdrawn.recorded_by == "tess"
        assert patients.get_patient(db, therapist, patient.code).consent is False
        patients.record_consent(db, therapist, patient.code, given=True, scope="research")
        assert patients.get_patient(db, therapist, patient.code).consent is False
        assert [c.given for c in patients.list_consents(db, therapist, patient.code)] == [
            True, False, True]
        with pytest.raises(InvalidValue, match="scope"):
            patients.record_consent(db, therapist, patient.code, given=True, scope="marketing")


def test_preferences(clinic: Clinic, therapist: Actor, patient: PatientView) -> None:
    with clinic.session() as db:
        assert patients.get_preferences(db, therapist, patient.code) is None
        prefs = patients.set_preferences(
            db, therapist, patient.code, liked_instruments=["cello", "piano", "cello"],
            disliked_instruments=["trumpet"], liked_styles=["Nottingham"],
            youth_years=(1961, 1967),
        )
        assert prefs.liked_instruments == ("cello", "acoustic grand piano")
        assert prefs.liked_styles == ("nottingham",)
        assert prefs.youth_years == (1961, 1967)
        again = patients.set_preferences(db, therapist, patient.code, liked_styles=["bach"])
        assert again.liked_instruments == () and again.youth_years is None
        with pytest.raises(InvalidValue, match="both liked and disliked"):
            patients.set_preferences(db, therapist, patient.code, liked_instruments=["Harp"],
                                     disliked_instruments=["harp"])
        with pytest.raises(InvalidValue, match="youth_years"):
            patients.set_preferences(db, therapist, patient.code, youth_years=(1970, 1960))


def test_favourites_are_stored_by_content(clinic: Clinic, therapist: Actor,
                                          patient: PatientView, tmp_path: Path) -> None:
    tune = tmp_path / "grandma.abc"
    tune.write_text("X:1\nT:Tune\nK:G\nGABc|\n")
    with clinic.session() as db:
        first = patients.add_favourite(db, therapist, patient.code, tune, title="Her waltz")
        second = patients.add_favourite(db, therapist, patient.code, tune)
        assert first.sha256 == second.sha256 and first.path == second.path
        assert first.path.read_bytes() == tune.read_bytes()
        assert first.path.is_relative_to(clinic.config.files_dir)
        listed = patients.list_favourites(db, therapist, patient.code)
        assert [f.title for f in listed] == ["Her waltz", None]
        bad = tmp_path / "notes.txt"
        bad.write_text("x")
        with pytest.raises(InvalidValue, match="must be one of"):
            patients.add_favourite(db, therapist, patient.code, bad)
        with pytest.raises(InvalidValue, match="does not exist"):
            patients.add_favourite(db, therapist, patient.code, tmp_path / "gone.mid")


def test_baselines_keep_history(clinic: Clinic, therapist: Actor, patient: PatientView) -> None:
    with clinic.session() as db:
        assert patients.get_baseline(db, therapist, patient.code) is None
        patients.set_baseline(db, therapist, patient.code, resting_heart_rate=72)
        latest = patients.set_baseline(db, therapist, patient.code, cadence_spm=96)
        assert (latest.resting_heart_rate, latest.cadence_spm) == (72, 96)
        assert patients.get_baseline(db, therapist, patient.code) == latest
        with pytest.raises(InvalidValue, match="resting_heart_rate: got 250"):
            patients.set_baseline(db, therapist, patient.code, resting_heart_rate=250)
        with pytest.raises(InvalidValue, match="give resting_heart_rate"):
            patients.set_baseline(db, therapist, patient.code)
        assert latest.fall_risk is None  # not recorded until someone says so
        risky = patients.set_baseline(db, therapist, patient.code, fall_risk=True)
        assert (risky.resting_heart_rate, risky.cadence_spm, risky.fall_risk) == (72, 96, True)
        later = patients.set_baseline(db, therapist, patient.code, cadence_spm=90)
        assert later.fall_risk is True  # carried over like the other values
        cleared = patients.set_baseline(db, therapist, patient.code, fall_risk=False)
        assert cleared.fall_risk is False
        with pytest.raises(InvalidValue, match="fall_risk: got 'maybe'"):
            patients.set_baseline(db, therapist, patient.code, fall_risk="maybe")  # type: ignore[arg-type]
