"""Patient history as plain data for therapy/, and that PreferenceModel reads it."""

from __future__ import annotations

from pathlib import Path

from cadence.clinic import feedback, history, outcomes, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.views import PatientView
from cadence.therapy.preferences import PreferenceModel

VARIANT = {"instrument": "cello", "tempo_offset": 0.0, "mode": "minor", "density": 1.0}


def test_history(clinic: Clinic, therapist: Actor, patient: PatientView,
                 session_files: dict[str, Path], tmp_path: Path) -> None:
    tune = tmp_path / "tune.mid"
    tune.write_bytes(b"MThd-fav")
    with clinic.session() as db:
        empty = history.patient_history(db, therapist, patient.code)
        assert empty.sessions == () and empty.preferences is None and empty.baseline is None
        assert empty.youth_years == (1948 + 13, 1948 + 19)  # Rao et al. 2021: ages 13-19
        patients.set_preferences(db, therapist, patient.code, liked_instruments=["cello"],
                                 youth_years=(1960, 1966))
        patients.set_baseline(db, therapist, patient.code, resting_heart_rate=80)
        patients.add_favourite(db, therapist, patient.code, tune, title="Moon River")
        first = sessions.record_session(db, therapist, patient.code, goal="anxiety",
                                        prescription={}, files=session_files, report={},
                                        variant=VARIANT).id
        second = sessions.record_session(db, therapist, patient.code, goal="sleep",
                                         prescription={}, files={}, report={}).id
        feedback.add_feedback(db, therapist, first, rating=4, liked=True)
        feedback.add_feedback(db, therapist, first, rating=5)
        for phase, value in (("before", 60), ("after", 45)):
            outcomes.add_outcome(db, therapist, patient.code, measure="stai6", phase=phase,
                                 value=value, session_id=first)
        got = history.patient_history(db, therapist, patient.code)
    assert got.birth_year == 1948 and got.youth_years == (1960, 1966)
    assert got.preferences is not None and got.preferences.liked_instruments == ("cello",)
    assert got.baseline is not None and got.baseline.resting_heart_rate == 80
    assert [f.title for f in got.favourites] == ["Moon River"]
    assert got.favourites[0].path.read_bytes() == b"MThd-fav"
    s1, s2 = got.sessions
    assert (s1.session_id, s1.goal, s1.variant, s1.rating, s1.liked) == (
        first, "anxiety", VARIANT, 4.5, True)
    assert s1.outcome_changes == {"stai6": -15.0}
    assert (s2.session_id, s2.variant, s2.rating, s2.outcome_changes) == (second, None, None, {})

    model = PreferenceModel.from_history(got.sessions, liked_instruments=["cello"])
    assert len(model.observations) == 1
    assert model.observations[0].reward > 0
