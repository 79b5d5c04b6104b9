"""Sessions: consent first, files by content hash, all-or-nothing, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cadence.clinic import patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import ConsentRequired, InvalidValue, NotFound
from cadence.clinic.models import StoredFile, TherapySession
from cadence.clinic.views import PatientView

PRESCRIPTION = {"goal": "gait", "tempo_bpm": [96, 100], "source": "PMC8801707"}
REPORT = {"tempo_max_dev_bpm": 0.0, "in_scale": 1.0}
VARIANT = {"instrument": "cello", "tempo_offset": 0.05, "mode": "major", "density": 1.0}


def record(clinic: Clinic, actor: Actor, code: str, files: dict[str, Path]) -> int:
    with clinic.session() as db:
        view = sessions.record_session(db, actor, code, goal="gait", prescription=PRESCRIPTION,
                                       files=files, report=REPORT, variant=VARIANT)
    return view.id


def test_record_and_read_back(clinic: Clinic, therapist: Actor, patient: PatientView,
                              session_files: dict[str, Path]) -> None:
    sid = record(clinic, therapist, patient.code, session_files)
    with clinic.session() as db:
        got = sessions.get_session(db, therapist, sid)
        assert (got.goal, got.prescription, got.report, got.variant) == (
            "gait", PRESCRIPTION, REPORT, VARIANT)
        assert got.patient_code == patient.code and got.clinician_id == therapist.clinician_id
        assert set(got.files) == {"mid", "wav", "report"}
        wav = sessions.session_file(db, therapist, sid, "wav")
        assert wav.read_bytes() == session_files["wav"].read_bytes()
        assert wav.name == f"{got.files['wav'].sha256}.wav"
        assert [s.id for s in sessions.list_sessions(db, therapist, patient.code)] == [sid]
        with pytest.raises(NotFound, match="no 'svg' file"):
            sessions.session_file(db, therapist, sid, "svg")


def test_identical_outputs_are_stored_once(clinic: Clinic, therapist: Actor,
                                           patient: PatientView,
                                           session_files: dict[str, Path]) -> None:
    record(clinic, therapist, patient.code, session_files)
    record(clinic, therapist, patient.code, session_files)
    with clinic.session() as db:
        assert db.scalar(select(func.count(StoredFile.id))) == 3
    assert len(clinic.files.all_files()) == 3


def test_no_consent_no_session(clinic: Clinic, therapist: Actor, patient: PatientView,
                               session_files: dict[str, Path]) -> None:
    with clinic.session() as db:
        patients.record_consent(db, therapist, patient.code, given=False)
    with pytest.raises(ConsentRequired, match="has not consented"):
        record(clinic, therapist, patient.code, session_files)
    with clinic.session() as db:
        assert db.scalar(select(func.count(TherapySession.id))) == 0
        assert db.scalar(select(func.count(StoredFile.id))) == 0
    assert clinic.files.all_files() == []


def test_a_failure_midway_rolls_back_rows_and_files(
    clinic: Clinic, therapist: Actor, patient: PatientView, session_files: dict[str, Path]
) -> None:
    with pytest.raises(InvalidValue), clinic.session() as db:
        sessions.record_session(db, therapist, patient.code, goal="sleep",
                                prescription={}, files=session_files, report={})
        patients.set_baseline(db, therapist, patient.code, resting_heart_rate=500)
    with clinic.session() as db:
        assert sessions.list_sessions(db, therapist, patient.code) == []
        assert db.scalar(select(func.count(StoredFile.id))) == 0
    assert clinic.files.all_files() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"goal": "dance"}, "goal: got 'dance'"),
        ({"prescription": {"x": float("nan")}}, "prescription: not JSON"),
        ({"report": ["not", "a", "dict"]}, "report: must be a JSON object"),
        ({"files": {"WAV FILE": Path("x")}}, "file kind"),
        ({"files": {"wav": Path("/nonexistent/x.wav")}}, "does not exist"),
    ],
    ids=["goal", "nan", "not-dict", "kind", "missing-file"],
)
def test_bad_input(clinic: Clinic, therapist: Actor, patient: PatientView,
                   change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"goal": "sleep", "prescription": {}, "files": {}, "report": {}}
    args.update(change)
    with pytest.raises(InvalidValue, match=message), clinic.session() as db:
        sessions.record_session(db, therapist, patient.code, **args)  # type: ignore[arg-type]


def test_other_therapists_cannot_see_sessions(
    clinic: Clinic, therapist: Actor, other_therapist: Actor, patient: PatientView,
    session_files: dict[str, Path],
) -> None:
    sid = record(clinic, therapist, patient.code, session_files)
    with clinic.session() as db:
        with pytest.raises(NotFound, match=f"no session {sid}"):
            sessions.get_session(db, other_therapist, sid)
        with pytest.raises(NotFound):
            sessions.session_file(db, other_therapist, sid, "wav")
        with pytest.raises(NotFound):
            sessions.record_session(db, other_therapist, patient.code, goal="sleep",
                                    prescription={}, files={}, report={})
        with pytest.raises(NotFound, match="no session 999"):
            sessions.get_session(db, therapist, 999)
