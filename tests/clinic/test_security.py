"""Issue 17's findings against the clinic layer (docs/security.md maps each to its test)."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import stat
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from cadence.clinic import patients, privacy, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import open_clinic
from tests.clinic.conftest import SECRET_NAME, make_therapist

TUNE_TITLE = "Wolframs Abendlied qzx-title"


def _musicxml(path: Path, title: str) -> Path:
    from music21 import metadata, meter, note, stream

    part = stream.Part()
    part.append(meter.TimeSignature("3/4"))
    for p in ["C4", "E4", "G4", "C5", "G4", "E4"]:
        part.append(note.Note(p, quarterLength=1.0))
    score = stream.Score([part])
    score.metadata = metadata.Metadata(title=title)
    score.write("musicxml", fp=path)
    return path


def _files_holding(root: Path, needles: list[bytes], *, since: float = 0.0) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_mtime < since:
                continue
            data = _unpacked(path.read_bytes())
        except OSError:  # another process's file, gone or unreadable
            continue
        if any(n in data for n in needles):
            found.append(str(path))
    return found


def _unpacked(data: bytes) -> bytes:
    """The bytes, and what they hold if compressed (music21's pickles are zlib or gzip)."""
    for unpack in (gzip.decompress, zlib.decompress):
        try:
            return data + unpack(data)
        except (OSError, EOFError, zlib.error):
            continue
    return data


def test_erasure_leaves_nothing_in_the_home_or_the_temp_dir(tmp_path: Path) -> None:
    """The patient's code, name and tune title are nowhere after erasure: not in a file under
    CADENCE_HOME, not in a music21 pickle in the temp dir, and in the database only in the
    append-only audit log (the code, as documented)."""
    from cadence.music.io import load_score

    start = time.time() - 1
    config = ClinicConfig.at(tmp_path / "home")
    with open_clinic(config) as clinic:
        tess = make_therapist(clinic, "tess")
        with clinic.session() as db:
            code = patients.add_patient(db, Actor.system(), name=SECRET_NAME, code="Q-ZX-0009",
                                        therapist_id=tess.clinician_id).code
            patients.record_consent(db, tess, code, given=True)
            fav = patients.add_favourite(db, tess, code,
                                         _musicxml(tmp_path / "fav.musicxml", TUNE_TITLE),
                                         title=TUNE_TITLE)
        load_score(fav.path)  # what a session with this primer does
        (tmp_path / "fav.musicxml").unlink()
        wav = tmp_path / "session.wav"
        wav.write_bytes(b"RIFF" + bytes(40) + code.encode())
        with clinic.session() as db:
            sessions.record_session(db, tess, code, goal="sleep", prescription={},
                                    files={"wav": wav}, report={})
        wav.unlink()
        adapter = config.adapter_dir(code)  # what `cadence finetune` writes for the patient
        adapter.mkdir(parents=True)
        (adapter / "adapter.json").write_text(json.dumps({"patient": code}))
        (adapter / "adapter.safetensors").write_bytes(bytes(64))
        with clinic.session() as db:
            privacy.erase_patient(db, Actor.system(), code)
    assert not adapter.exists()
    assert [p for p in config.home.rglob("*") if code in p.name] == []
    needles = [code.encode(), SECRET_NAME.encode(), TUNE_TITLE.encode()]
    home = config.home
    assert _files_holding(home, needles[1:]) == []
    database = home / "cadence.db"
    assert [p for p in _files_holding(home, needles[:1]) if p != str(database)] == []
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            naming = [r for r in rows if code in repr(r)]
            assert table == "audit_log" or naming == [], (table, naming)
    temp = Path(tempfile.gettempdir())
    assert _files_holding(temp, needles[2:], since=start) == []


def test_every_file_under_the_home_is_owner_only(tmp_path: Path) -> None:
    config = ClinicConfig.at(tmp_path / "home")
    with open_clinic(config) as clinic:
        tess = make_therapist(clinic, "tess")
        tune = tmp_path / "tune.abc"
        tune.write_text("X:1\nT:t\nK:D\nDEF|\n")
        with clinic.session() as db:
            code = patients.add_patient(db, tess, name="A B").code
            patients.add_favourite(db, tess, code, tune)
        with clinic.engine.connect() as c:  # the -wal and -shm files exist while it is open
            c.exec_driver_sql("SELECT 1")
            names = {p.name for p in config.home.iterdir()}
            assert {"cadence.db", "cadence.db-wal", "cadence.db-shm"} <= names
            _assert_private(config.home)


def test_opening_repairs_a_home_left_world_readable(tmp_path: Path) -> None:
    config = ClinicConfig.at(tmp_path / "home")
    open_clinic(config).close()
    for path in [config.home, *config.home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    open_clinic(config).close()
    _assert_private(config.home)


def _assert_private(home: Path) -> None:
    loose = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(home.parent)} {mode:o}")
    assert loose == []


def test_the_job_process_umask_makes_new_files_owner_only(tmp_path: Path) -> None:
    from cadence.clinic.config import use_private_umask

    old = os.umask(0o022)
    try:
        use_private_umask()
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "session.wav").write_bytes(b"x")
        assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "out" / "session.wav").stat().st_mode) == 0o600
    finally:
        os.umask(old)


# --- the command line: bad arguments are one line and exit 2, never a traceback -----------

from tests.clinic.test_commands import run  # noqa: E402,F401 (the fixture)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("feedback", "99999999999999999999999", "--rating", "3"), "out of the range"),
        (("outcome", "{code}", "--measure", "mood_vas", "--phase", "before", "--value", "5",
          "--session", "99999999999999999999"), "out of the range"),
        (("db", "audit", "--limit", "99999999999999999999"), "limit: got"),
        (("patient", "export", "{code}", "--out", "/dev/zero"), "/dev/zero"),
        (("db", "backup", "/dev/zero"), "/dev/zero"),
        (("analyze-audio", "{home}"), "is a folder"),
        (("session", "--goal", "sleep", "--minutes", "0.1", "--model", "{model}",
          "--out", "/dev/zero"), "/dev/zero"),
    ],
    ids=["feedback-id", "outcome-session", "audit-limit", "export-out", "backup-dest",
         "audio-folder", "session-out"],
)
def test_bad_arguments_are_one_line_with_exit_2(
    run, config: ClinicConfig, tiny_model: Path,  # type: ignore[no-untyped-def]  # noqa: F811
    args: tuple[str, ...], needle: str,
) -> None:
    run("clinician", "add", "tess", "--password", "correct horse")
    code = run("patient", "add", "Jo Doe", "--therapist", "tess").out.strip()
    values = {"code": code, "home": str(config.home), "model": str(tiny_model)}
    result = run(*(a.format(**values) for a in args))
    assert result.code == 2, (result.out, result.err)
    said = (result.out + result.err).strip()
    assert needle.format(**values) in said and "Traceback" not in said
    assert len(said.splitlines()) == 1, said


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # the prompt reads stdin
def test_clinician_disable_and_passwd(run, config: ClinicConfig) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from cadence.clinic import accounts

    assert run("clinician", "add", "tess", "--password", "correct horse").code == 0
    weak = run("clinician", "passwd", "tess", "--password", "password")
    assert weak.code == 2 and "at least 12" in weak.out + weak.err
    spaces = run("clinician", "add", "tom", "--password", " " * 12)
    assert spaces.code == 2 and "only spaces" in spaces.out + spaces.err
    common = run("clinician", "add", "tom", "--password", "password1234")
    assert common.code == 2 and "too easy to guess" in common.out + common.err
    changed = run("clinician", "passwd", "tess", stdin="walnut harbour tram\nwalnut harbour tram\n")
    assert changed.code == 0, changed.out + changed.err
    disabled = run("clinician", "disable", "tess")
    assert disabled.code == 0 and "disabled" in disabled.out
    assert "\ttess\ttherapist\tinactive" in run("clinician", "list").out
    with open_clinic(config) as clinic, clinic.session() as db:
        assert accounts.authenticate(db, "tess", "walnut harbour tram") is None
    assert run("clinician", "enable", "tess").code == 0
    with open_clinic(config) as clinic, clinic.session() as db:
        assert accounts.authenticate(db, "tess", "walnut harbour tram") is not None
    missing = run("clinician", "disable", "ghost")
    assert missing.code == 2 and "no clinician 'ghost'" in missing.out + missing.err


# --- preferences: fixed vocabularies, sealed ----------------------------------------------


def test_preferences_take_only_the_models_words(clinic, therapist, patient) -> None:  # type: ignore[no-untyped-def]
    from cadence.clinic.errors import InvalidValue

    with clinic.session() as db:
        for field, word in (("liked_instruments", "my late husband's fiddle"),
                            ("disliked_styles", "songs from the war")):
            with pytest.raises(InvalidValue, match=field):
                patients.set_preferences(db, therapist, patient.code, **{field: [word]})
        view = patients.set_preferences(db, therapist, patient.code,
                                        liked_instruments=["Violin", "violin "],
                                        liked_styles=["BACH"])
    assert view.liked_instruments == ("violin",) and view.liked_styles == ("bach",)


def test_preferences_and_youth_years_are_sealed(tmp_path: Path) -> None:
    """The youth years gave away the encrypted birth year; every preference is now one
    AES-GCM blob under the patient's key, and an older database's plaintext is sealed on open."""
    config = ClinicConfig.at(tmp_path / "home")
    with open_clinic(config) as clinic:
        tess = make_therapist(clinic, "tess")
        with clinic.session() as db:
            code = patients.add_patient(db, tess, name="A B", birth_year=1948).code
            patients.set_preferences(db, tess, code, liked_instruments=["cello"],
                                     liked_styles=["nottingham"], youth_years=(1961, 1967))
    with sqlite3.connect(config.home / "cadence.db") as raw:
        row = raw.execute("SELECT liked_instruments, liked_styles, youth_from, youth_to, "
                          "data_enc FROM preferences").fetchone()
        assert row[:4] == ("[]", "[]", None, None) and row[4] is not None
        for word in (b"cello", b"nottingham", b"1961", b"1967"):
            assert word not in row[4]
        # as a database written before migration 0004 holds it
        raw.execute("UPDATE preferences SET data_enc = NULL, liked_instruments = '[\"harp\"]', "
                    "youth_from = 1962, youth_to = 1968")
    with open_clinic(config) as clinic, clinic.session() as db:
        view = patients.get_preferences(db, tess, code)
        assert view is not None
        assert view.liked_instruments == ("harp",) and view.youth_years == (1962, 1968)
    with sqlite3.connect(config.home / "cadence.db") as raw:
        row = raw.execute("SELECT liked_instruments, youth_from, data_enc FROM preferences"
                          ).fetchone()
        assert row[0] == "[]" and row[1] is None and row[2] is not None
