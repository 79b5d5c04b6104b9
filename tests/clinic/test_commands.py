"""The clinic commands end to end, through `cadence`'s real entry point (``cli.main``), on
SQLite and PostgreSQL, with CADENCE_HOME in tmp_path."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cadence import cli
from cadence.clinic import sessions
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import make_engine, open_clinic
from cadence.clinic.models import Base
from tests.clinic.conftest import SECRET_COMMENT, SECRET_CONTACT, SECRET_NAME, random_key


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(config: ClinicConfig, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``cadence ARGS`` in this process as the installed entry point does."""
    monkeypatch.setenv("CADENCE_HOME", str(config.home))
    monkeypatch.setenv("CADENCE_DATABASE_URL", config.database_url)
    monkeypatch.delenv("CADENCE_SECRET_KEY", raising=False)

    def invoke(*args: str, stdin: str = "") -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cadence", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code: int | str | None = 0
        try:
            cli.main()
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return Result(int(code or 0), captured.out, captured.err)

    return invoke


def counts(config: ClinicConfig) -> dict[str, int]:
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            return {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                    for name, table in Base.metadata.tables.items()}
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # the password prompt reads stdin
def test_a_patient_from_start_to_erasure(run, config: ClinicConfig, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         session_files: dict[str, Path]) -> None:
    added = run("clinician", "add", "tess", "--role", "therapist",
                stdin="correct horse\ncorrect horse\n")
    assert added.code == 0, added.err
    assert "clinician tess (therapist) added" in added.out
    assert "\ttess\ttherapist\tactive" in run("clinician", "list").out
    added = run("patient", "add", SECRET_NAME, "--birth-year", "1948", "--contact",
                SECRET_CONTACT, "--notes", "likes waltzes", "--therapist", "tess")
    assert added.code == 0, added.err
    code = added.out.strip()
    assert code.startswith("P-")
    assert code in run("patient", "list").out and SECRET_NAME in run("patient", "list").out
    assert "sessions consent given" in run("patient", "consent", code, "--given").out
    assert "heart rate 72 bpm, cadence 96" in run("patient", "baseline", code, "--heart-rate",
                                                  "72", "--cadence", "96").out
    assert "fall risk yes" in run("patient", "baseline", code, "--fall-risk").out
    assert "cadence 96 steps/min, fall risk yes" in run("patient", "show", code).out
    tune = tmp_path / "moon river.abc"
    tune.write_text("X:1\nT:Moon River\nK:C\nCDE|\n")
    prefs = run("patient", "prefs", code, "--like-instrument", "cello", "--like-instrument",
                "piano", "--dislike-style", "bach", "--youth", "1961-1967", "--favourite",
                str(tune))
    assert prefs.code == 0, prefs.err
    assert "cello, acoustic grand piano" in prefs.out
    assert "1961-1967" in prefs.out and "moon river" in prefs.out
    # only the list given changes
    assert "bach" in run("patient", "prefs", code, "--like-style", "nottingham").out

    with open_clinic(config) as clinic, clinic.session() as db:  # as `session --patient` would
        sid = sessions.record_session(db, Actor.system(), code, goal="anxiety",
                                      prescription={}, files=session_files, report={}).id
    rated = run("feedback", str(sid), "--rating", "4", "--liked", "--comment", SECRET_COMMENT)
    assert rated.code == 0, rated.err
    scored = run("outcome", code, "--measure", "stai6", "--phase", "before", "--stai-items",
                 "1,2,3,4,1,2", "--session", str(sid))
    assert scored.code == 0, scored.err
    assert "stai6 before = 43.3333" in scored.out
    assert run("outcome", code, "--measure", "mood_vas", "--phase", "after", "--value",
               "70").code == 0

    shown = run("patient", "show", code).out
    for expected in (SECRET_NAME, SECRET_CONTACT, "1948", "cello", "1961-1967", "moon river",
                     f"session {sid}:  anxiety", "rating 4.0", "stai6 before 43.3333",
                     "mood_vas after 70", "resting heart rate 72"):
        assert expected in shown, expected

    exported = run("patient", "export", code, "--out", str(tmp_path / "export"))
    assert exported.code == 0, exported.err
    data = json.loads((tmp_path / "export" / code / "patient.json").read_text())
    assert data["feedback"][0]["comment"] == SECRET_COMMENT

    log = run("db", "audit", "--patient", code, "--limit", "0").out
    assert "system\tcreate\tpatients#" in log and "\tfeedback#" in log
    assert f"\t{code}\t" in log and SECRET_NAME not in log and SECRET_COMMENT not in log
    assert len(run("db", "audit", "--limit", "3").out.strip().splitlines()) == 3

    declined = run("patient", "erase", code, stdin="n\n")
    assert declined.code == 1 and "not erased" in declined.out
    assert code in run("patient", "list").out
    erased = run("patient", "erase", code, stdin="y\n")
    assert erased.code == 0 and f"erased {code}" in erased.out
    assert "no patients" in run("patient", "list").out


def one_line_error(result: Result, needle: str) -> None:
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:") and needle in lines[0], lines[0]
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("outcome", "{code}", "--measure", "mood_vas", "--phase", "before", "--value", "150"),
         "mood_vas: got 150"),
        (("outcome", "{code}", "--measure", "pain_nrs", "--phase", "during", "--value", "3"),
         "phase"),
        (("outcome", "{code}", "--measure", "stai6", "--phase", "after", "--stai-items",
          "1,2,3"), "six"),
        (("outcome", "{code}", "--measure", "stai6", "--phase", "after", "--stai-items",
          "a,b"), "--stai-items"),
        (("outcome", "P-NOSUCH", "--measure", "liking", "--phase", "after", "--value", "3"),
         "no patient 'P-NOSUCH'"),
        (("feedback", "1", "--rating", "9"), "rating: got 9"),
        (("feedback", "77", "--rating", "3"), "no session 77"),
        (("patient", "add", "X", "--birth-year", "1700"), "birth_year: got 1700"),
        (("patient", "add", "X", "--therapist", "ghost"), "no clinician 'ghost'"),
        (("patient", "add", "X", "--code", "{code}"), "already exists"),
        (("patient", "baseline", "{code}", "--heart-rate", "400"), "resting_heart_rate"),
        (("patient", "prefs", "{code}", "--youth", "sixties"), "--youth"),
        (("patient", "consent", "{code}", "--given", "--scope", "ads"), "scope"),
        (("patient", "show", "P-NOSUCH"), "no patient"),
        (("patient", "erase", "P-NOSUCH"), "no patient"),
        (("clinician", "add", "xy", "--role", "boss", "--password", "long enough"), "role"),
        (("db", "restore", "{home}", "--yes"), "not a Cadence backup"),
    ],
    ids=["vas-range", "phase", "stai-count", "stai-text", "unknown-patient", "rating",
         "unknown-session", "birth-year", "unknown-therapist", "duplicate-code", "heart-rate",
         "youth", "scope", "show-unknown", "erase-unknown", "role", "restore-not-backup"],
)
def test_bad_input_is_one_line_and_writes_nothing(
    run, config: ClinicConfig, session_files: dict[str, Path],  # type: ignore[no-untyped-def]
    args: tuple[str, ...], needle: str,
) -> None:
    code = run("patient", "add", "Someone", "--code", "WARD-1").out.strip()
    run("patient", "consent", code, "--given")
    with open_clinic(config) as clinic, clinic.session() as db:
        sessions.record_session(db, Actor.system(), code, goal="pain", prescription={},
                                files=session_files, report={})
    before = counts(config)
    files_before = sorted(p.name for p in (config.home / "files").rglob("*"))
    result = run(*(a.format(code=code, home=config.home) for a in args))
    one_line_error(result, needle)
    assert counts(config) == before
    assert sorted(p.name for p in (config.home / "files").rglob("*")) == files_before


def test_a_wrong_or_missing_key_is_one_line(run, config: ClinicConfig,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("patient", "add", "Someone").code == 0
    before = counts(config)
    monkeypatch.setenv("CADENCE_SECRET_KEY", random_key())
    one_line_error(run("patient", "list"), "not the key this database was written with")
    monkeypatch.setenv("CADENCE_SECRET_KEY", "not-a-key")
    one_line_error(run("patient", "add", "Other"), "CADENCE_SECRET_KEY")
    monkeypatch.delenv("CADENCE_SECRET_KEY")
    (config.home / "secret.key").unlink()
    one_line_error(run("patient", "list"), "no encryption key")
    assert counts(config) == before


def test_backup_restore_and_rotate_key(run, config: ClinicConfig,  # type: ignore[no-untyped-def]
                                       tmp_path: Path) -> None:
    code = run("patient", "add", SECRET_NAME).out.strip()
    backed = run("db", "backup", str(tmp_path / "backup"))
    assert backed.code == 0, backed.err
    assert run("patient", "erase", code, "--yes").code == 0
    assert run("db", "restore", str(tmp_path / "backup"), stdin="n\n").code == 1
    assert "no patients" in run("patient", "list").out
    restored = run("db", "restore", str(tmp_path / "backup"), "--yes")
    assert restored.code == 0, restored.err
    assert SECRET_NAME in run("patient", "list").out

    old_key = (config.home / "secret.key").read_text()
    rotated = run("db", "rotate-key")
    assert rotated.code == 0 and "re-wrapped 1 patient keys" in rotated.out
    assert (config.home / "secret.key").read_text() != old_key
    assert SECRET_NAME in run("patient", "show", code).out


def test_rotate_key_with_the_key_in_the_environment(run, config: ClinicConfig,  # type: ignore[no-untyped-def]
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_SECRET_KEY", random_key())
    code = run("patient", "add", SECRET_NAME).out.strip()
    rotated = run("db", "rotate-key")
    assert rotated.code == 0, rotated.err
    line = rotated.out.strip().splitlines()[-1]
    assert line.startswith("CADENCE_SECRET_KEY=")
    one_line_error(run("patient", "show", code), "not the key")
    monkeypatch.setenv("CADENCE_SECRET_KEY", line.split("=", 1)[1])
    assert SECRET_NAME in run("patient", "show", code).out


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "CADENCE_HOME": str(tmp_path), "CADENCE_SECRET_KEY": "short"}
    env.pop("CADENCE_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "cadence", "patient", "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "CADENCE_SECRET_KEY" in result.stderr
