"""Personalisation through the CLI, end to end on a tiny model and a clinic in tmp_path:
patient and consent, favourite tune, `cadence finetune`, `cadence session --patient`,
`cadence feedback` feeding the next suggestion, outcomes and `cadence report`, and
`cadence analyze-audio`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from tests.conftest import ABC_TUNE
from typer.testing import CliRunner

from cadence.cli import app
from cadence.clinic import feedback, history, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import open_clinic
from cadence.clinic.planning import plan_for_patient
from cadence.therapy.request import SessionRequest

CODE = "P-E2E234"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("CADENCE_HOME", str(folder))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENCE_SECRET_KEY", raising=False)
    return folder


def _ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _fails(home: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "cadence", *args], capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "CADENCE_HOME": str(home)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_personal_sessions_end_to_end(home: Path, tmp_path: Path, tiny_model: Path) -> None:
    tune = tmp_path / "tune.abc"
    tune.write_text(ABC_TUNE)
    _ok("patient", "add", "Ann Example", "--birth-year", "1950", "--code", CODE)
    session_args = ["--goal", "cognition", "--minutes", "0.25", "--model", str(tiny_model)]
    err = _fails(home, "session", "--patient", CODE, "--out", str(tmp_path / "s0"), *session_args)
    assert "consent" in err.lower()
    assert not (tmp_path / "s0").exists()
    _ok("patient", "consent", CODE, "--given")
    _ok("patient", "prefs", CODE, "--like-instrument", "piano", "--favourite", str(tune))

    out = _ok("finetune", "--patient", CODE, "--model", str(tiny_model), "--steps", "40")
    adapter = home / "adapters" / CODE
    meta = json.loads((adapter / "adapter.json").read_text())
    assert (adapter / "adapter.safetensors").is_file()
    assert meta["nll_after"] < meta["nll_before"] and meta["patient_code"] == CODE
    assert "NLL" in out

    out = _ok("session", "--patient", CODE, "--out", str(tmp_path / "s1"), *session_args)
    first_id = int(out.strip().splitlines()[-1].split()[-1])
    assert "fine-tuned model" in out and "primer: the patient's favourite tune" in out
    report = json.loads((tmp_path / "s1" / "report.json").read_text())
    assert report["adapter"] is True and set(report["variant"]) == {
        "instrument", "tempo_offset", "mode", "density"
    }  # fmt: skip
    assert report["model"] == str(tiny_model)
    assert report["in_scale_share"] == 1.0

    _ok("feedback", str(first_id), "--rating", "5")
    _ok("outcome", CODE, "--measure", "engagement", "--phase", "before", "--value", "2",
        "--session", str(first_id))  # fmt: skip
    _ok("outcome", CODE, "--measure", "engagement", "--phase", "after", "--value", "4",
        "--session", str(first_id))  # fmt: skip
    clinic = open_clinic(ClinicConfig.from_env())
    with clinic.session() as db:
        past = history.patient_history(db, Actor.system(), CODE).sessions
        stored = sessions.get_session(db, Actor.system(), first_id)
    assert past[0].rating == 5.0 and past[0].variant == report["variant"]
    assert past[0].outcome_changes == {"engagement": 2.0}
    assert {"mid", "musicxml", "svg", "png", "report", "prescription"} <= set(stored.files)

    out = _ok("session", "--patient", CODE, "--out", str(tmp_path / "s2"), *session_args)
    assert int(out.strip().splitlines()[-1].split()[-1]) == first_id + 1

    out = _ok("report", "--patient", CODE, "--out", str(tmp_path / "rep"), "--csv", "--fhir")
    assert "engagement" in out
    written = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"report.json", "trends.png", "trends.svg", "outcomes.csv", "stats.csv",
            "observations.fhir.json"} <= written  # fmt: skip
    bundle = (tmp_path / "rep" / "observations.fhir.json").read_text()
    assert CODE in bundle and "Ann Example" not in bundle
    err = _fails(home, "report", "--patient", CODE, "--goal", "pain")
    assert "exactly one" in err


def test_feedback_ratings_steer_the_next_suggestion(home: Path, tmp_path: Path) -> None:
    """Sessions rated through the clinic feed PreferenceModel: after minor sessions rated 5
    and major ones rated 1, the suggestion for the next session is mostly minor."""
    clinic = open_clinic(ClinicConfig.from_env())
    actor = Actor.system()
    (tmp_path / "r.json").write_text("{}")
    files = {"report": tmp_path / "r.json"}
    with clinic.session() as db:
        patients.add_patient(db, actor, name="Bo Example", code=CODE)
        patients.record_consent(db, actor, CODE, given=True)

    def plan(goal: str, seed: int, **inputs: str):  # type: ignore[no-untyped-def]
        request = SessionRequest(goal, 1.0, inputs, seed=seed, patient=CODE)
        with clinic.session() as db:
            return plan_for_patient(db, actor, clinic.config, request)

    def suggestions() -> list[str]:
        return [plan("pain", seed).variant["mode"] for seed in range(20)]

    before = suggestions()
    assert 3 <= before.count("minor") <= 17  # no history: both modes are tried
    with clinic.session() as db:
        for i in range(8):
            mode = ("minor", "major")[i % 2]
            variant = {"instrument": 46, "tempo_offset": 0.0, "mode": mode, "density": 1.0}
            sid = sessions.record_session(
                db, actor, CODE, goal="pain", prescription={}, files=files, report={},
                variant=variant,
            ).id  # fmt: skip
            feedback.add_feedback(db, actor, sid, rating=5 if mode == "minor" else 1)
    after = suggestions()
    assert after.count("minor") >= 18, after
    # A clinician's explicit choice wins, even where the goal does not vary it (sleep stays
    # major by default), and the recorded variant is what was played.
    chosen = plan("sleep", 0, mode="minor")
    assert chosen.variant["mode"] == "minor" and chosen.prescription.mode == "minor"
    assert plan("sleep", 0).variant["mode"] == "major"


def test_analyze_audio_command(tmp_path: Path) -> None:
    sr = 22050
    y = np.zeros(sr * 8)
    for t in np.arange(0, 7.9, 0.5):  # 120 BPM clicks
        i = int(t * sr)
        y[i : i + 200] = 0.5 * np.sin(np.arange(200) * 0.3)
    path = tmp_path / "clicks.wav"
    soundfile.write(path, y, sr)
    out = _ok("analyze-audio", str(path))
    assert "tempo 1" in out and "key" in out and "LUFS" in out
    data = json.loads(_ok("analyze-audio", str(path), "--json"))
    assert data["tempo_bpm"] == pytest.approx(120.0, rel=0.03)
    assert set(data["seeds"]) == {"tempo_bpm", "key", "key_tonic", "mode", "arousal"}
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"nope" * 100)
    assert "bad.mp3" in _fails(tmp_path, "analyze-audio", str(bad))
