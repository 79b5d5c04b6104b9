"""Privacy: export, erasure (nothing of the patient left on disk), backup and restore, key
rotation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from cadence.clinic import audit, backup, feedback, outcomes, patients, privacy, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import Clinic, open_clinic
from cadence.clinic.errors import Forbidden, InvalidValue, KeyProblem, NotFound
from cadence.clinic.models import Patient
from cadence.clinic.views import PatientView
from tests.clinic.conftest import (
    SECRET_COMMENT,
    SECRET_CONTACT,
    SECRET_NAME,
    SECRET_NOTES,
    random_key,
)
from tests.servers import PostgresServer

SECRETS = (SECRET_NAME, SECRET_CONTACT, SECRET_NOTES, SECRET_COMMENT, "Her waltz")


def fill(clinic: Clinic, actor: Actor, code: str, files: dict[str, Path], tmp: Path) -> int:
    """Give the patient one of everything; returns the session id."""
    tune = tmp / "favourite.abc"
    tune.write_text(f"X:1\nT:only theirs {code}\nK:D\nDEF|\n")
    with clinic.session() as db:
        patients.set_preferences(db, actor, code, liked_instruments=["violin"])
        patients.set_baseline(db, actor, code, resting_heart_rate=70, cadence_spm=100)
        patients.add_favourite(db, actor, code, tune, title="Her waltz")
        sid = sessions.record_session(db, actor, code, goal="gait", prescription={"bpm": 100},
                                      files=files, report={"ok": True},
                                      variant={"mode": "major"}).id
        feedback.add_feedback(db, actor, sid, rating=3, liked=False, comment=SECRET_COMMENT)
        outcomes.add_outcome(db, actor, code, measure="gait_speed", phase="before", value=0.8,
                             session_id=sid)
    return sid


def test_export_holds_everything(clinic: Clinic, therapist: Actor, patient: PatientView,
                                 session_files: dict[str, Path], tmp_path: Path) -> None:
    sid = fill(clinic, therapist, patient.code, session_files, tmp_path)
    with clinic.session() as db:
        folder = privacy.export_patient(db, therapist, patient.code, tmp_path / "export")
    assert folder == tmp_path / "export" / patient.code
    data = json.loads((folder / "patient.json").read_text())
    assert data["patient"]["name"] == SECRET_NAME and data["patient"]["notes"] == SECRET_NOTES
    assert data["feedback"][0]["comment"] == SECRET_COMMENT
    assert data["sessions"][0]["id"] == sid and data["sessions"][0]["variant"] == {"mode": "major"}
    assert data["outcomes"][0]["value"] == 0.8
    assert data["favourites"][0]["title"] == "Her waltz"
    assert data["preferences"]["liked_instruments"] == ["violin"]
    assert {e["action"] for e in data["audit"]} >= {"create", "read"}
    exported = {p.name for p in (folder / "files").iterdir()}
    assert exported == {f"{v.sha256}{v.suffix}" for v in
                        [*data_files(clinic, therapist, sid), *fav_files(clinic, therapist,
                                                                        patient.code)]}
    with pytest.raises(InvalidValue, match="not empty"), clinic.session() as db:
        privacy.export_patient(db, therapist, patient.code, tmp_path / "export")
    with clinic.session() as db:
        actions = [e.action for e in audit.list_audit(db, Actor.system(), patient.code)]
        assert actions.count("export") == 1


def data_files(clinic: Clinic, actor: Actor, sid: int) -> list:  # type: ignore[type-arg]
    with clinic.session() as db:
        return list(sessions.get_session(db, actor, sid).files.values())


def fav_files(clinic: Clinic, actor: Actor, code: str) -> list:  # type: ignore[type-arg]
    with clinic.session() as db:
        return patients.list_favourites(db, actor, code)


def database_bytes(clinic: Clinic, request: pytest.FixtureRequest) -> bytes:
    """Every byte the database keeps on disk (SQLite: the file, -wal and -shm), or for
    PostgreSQL a plain dump of the database."""
    if clinic.dialect == "sqlite":
        path = Path(clinic.engine.url.database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
                        if p.exists())
    server: PostgresServer = request.getfixturevalue("postgresql_server")
    dump = subprocess.run(
        [str(server.bin_dir / "pg_dump"), "--dbname",
         str(clinic.engine.url.set(drivername="postgresql"))],
        capture_output=True, check=True, timeout=120)
    return dump.stdout


def test_erase_leaves_no_trace(clinic: Clinic, therapist: Actor, patient: PatientView,
                               session_files: dict[str, Path], tmp_path: Path,
                               request: pytest.FixtureRequest) -> None:
    fill(clinic, therapist, patient.code, session_files, tmp_path)
    # another patient shares the session outputs (same content), so those files must stay
    with clinic.session() as db:
        other = patients.add_patient(db, therapist, name="Keeps her files")
        patients.record_consent(db, therapist, other.code, given=True)
        sessions.record_session(db, therapist, other.code, goal="gait", prescription={},
                                files={"wav": session_files["wav"]}, report={})
        row = db.scalar(select(Patient).where(Patient.code == patient.code))
        assert row is not None
        key_material = [bytes(row.wrapped_key), bytes(row.name_enc), bytes(row.notes_enc or b"")]
    favourite = fav_files(clinic, therapist, patient.code)[0].path
    shared = clinic.files.all_files()
    assert favourite.exists()
    before = database_bytes(clinic, request)
    assert all(m in before or m.hex().encode() in before for m in key_material)

    with clinic.session() as db:
        report = privacy.erase_patient(db, Actor.system(), patient.code)
    assert report.rows["patients"] == 1 and report.rows["feedback"] == 1
    assert report.files_removed == 3  # favourite, mid, report; the shared wav stays

    after = database_bytes(clinic, request)
    for secret in SECRETS:
        assert secret.encode() not in after
    for material in key_material:
        assert material not in after and material.hex().encode() not in after
    stored = b"".join(p.read_bytes() for p in clinic.files.all_files())
    assert not favourite.exists()
    assert [p for p in shared if p.exists()] == [p for p in shared if p.suffix == ".wav"]
    for secret in (*SECRETS, f"only theirs {patient.code}"):
        assert secret.encode() not in stored
    with clinic.session() as db:
        with pytest.raises(NotFound):
            patients.get_patient(db, Actor.system(), patient.code)
        tomb = audit.list_audit(db, Actor.system(), patient.code)[-1]
        assert (tomb.action, tomb.actor_name) == ("erase", "system")
        assert patients.get_patient(db, Actor.system(), other.code).name == "Keeps her files"


def test_only_admins_erase(clinic: Clinic, therapist: Actor, patient: PatientView) -> None:
    with pytest.raises(Forbidden), clinic.session() as db:
        privacy.erase_patient(db, therapist, patient.code)


def test_backup_and_restore_round_trip(clinic: Clinic, therapist: Actor, patient: PatientView,
                                       session_files: dict[str, Path], tmp_path: Path) -> None:
    sid = fill(clinic, therapist, patient.code, session_files, tmp_path)
    folder = backup.backup(clinic, tmp_path / "backup")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["dialect"] == clinic.dialect and manifest["files"] == 4
    with pytest.raises(InvalidValue, match="not empty"):
        backup.backup(clinic, folder)

    # after the backup: erase the patient, add another
    with clinic.session() as db:
        privacy.erase_patient(db, Actor.system(), patient.code)
        later = patients.add_patient(db, therapist, name="Added after the backup")
    backup.restore(clinic, folder)

    with clinic.session() as db:
        assert audit.list_audit(db, Actor.system())[-1].action == "restore"
        back = patients.get_patient(db, therapist, patient.code)
        assert (back.name, back.notes) == (SECRET_NAME, SECRET_NOTES)
        assert feedback.list_feedback(db, therapist, sid)[0].comment == SECRET_COMMENT
        wav = sessions.session_file(db, therapist, sid, "wav")
        assert wav.read_bytes() == session_files["wav"].read_bytes()
        with pytest.raises(NotFound):
            patients.get_patient(db, therapist, later.code)
    assert len(clinic.files.all_files()) == 4


def test_restore_refuses_a_backup_under_another_key(config: ClinicConfig, tmp_path: Path
                                                    ) -> None:
    with open_clinic(config) as clinic:
        folder = backup.backup(clinic, tmp_path / "backup")
        with clinic.session() as db:
            patients.add_patient(db, Actor.system(), name="Still here", code="STAY")
        backup.rotate_key(clinic)
        with pytest.raises(KeyProblem, match="different master key"):
            backup.restore(clinic, folder)
        with clinic.session() as db:
            assert patients.get_patient(db, Actor.system(), "STAY").name == "Still here"
        with pytest.raises(InvalidValue, match="not a Cadence backup"):
            backup.restore(clinic, tmp_path)


def test_rotate_key_with_a_key_file(config: ClinicConfig, patient: PatientView,
                                    clinic: Clinic) -> None:
    old_key = config.key_file.read_text()
    report = backup.rotate_key(clinic)
    assert report.rewrapped == 1 and report.key_file == config.key_file and report.new_key is None
    assert config.key_file.read_text() != old_key
    assert config.key_file.stat().st_mode & 0o777 == 0o600
    with clinic.session() as db:  # the open clinic carries on with the new key
        assert patients.get_patient(db, Actor.system(), patient.code).name == SECRET_NAME
    with open_clinic(config) as reopened, reopened.session() as db:
        assert patients.get_patient(db, Actor.system(), patient.code).notes == SECRET_NOTES
    stale = ClinicConfig(config.home, config.database_url, secret_key=old_key.strip())
    with pytest.raises(KeyProblem):
        open_clinic(stale)


def test_rotate_key_from_the_environment(config: ClinicConfig, tmp_path: Path) -> None:
    key = random_key()
    env_config = ClinicConfig(config.home, config.database_url, secret_key=key)
    with open_clinic(env_config) as clinic:
        with clinic.session() as db:
            patients.add_patient(db, Actor.system(), name=SECRET_NAME, code="ENV-1")
        report = backup.rotate_key(clinic)
    assert report.new_key is not None and report.key_file is None
    assert not config.key_file.exists()
    with pytest.raises(KeyProblem, match="not the key"):
        open_clinic(env_config)
    rotated = ClinicConfig(config.home, config.database_url, secret_key=report.new_key)
    with open_clinic(rotated) as clinic, clinic.session() as db:
        assert patients.get_patient(db, Actor.system(), "ENV-1").name == SECRET_NAME
