"""One session pipeline (issue 16): the same request and seed through the CLI, the API and
the web form plan and play the same session, personalised from the same records; ratings given
on the web steer the next session's suggested variant; bad input is refused before anything
is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cadence.cli import app
from cadence.clinic import history, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.planning import plan_for_patient
from cadence.therapy.request import SessionRequest
from cadence.web.settings import WebSettings
from cadence.web.store import Job
from tests.web.conftest import add_patient, wait_job
from tests.web.test_pages import sign_in

REQUEST = {"goal": "sleep", "minutes": 0.25, "seed": 7}
# Figures that depend on where and when a session ran, not on what was played.
RUN_ONLY = {"timings", "patient", "warnings"}


def _patient_with_baseline(client: TestClient, headers: dict[str, str]) -> str:
    code = add_patient(client, headers)
    r = client.put(
        f"/api/v1/patients/{code}/baseline", json={"resting_heart_rate": 84}, headers=headers
    )
    assert r.status_code == 204, r.text
    return code


def _session_of(client: TestClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    done = wait_job(client, headers, job_id, timeout=300)
    assert done["status"] == "done", done["error"]
    sid = done["session_id"]
    session = client.get(f"/api/v1/sessions/{sid}", headers=headers).json()
    midi = client.get(f"/api/v1/sessions/{sid}/files/mid", headers=headers).content
    return {"id": sid, "midi": midi, **session}


def test_cli_api_and_web_play_the_same_personalised_session(
    client: TestClient, settings: WebSettings, therapist: dict[str, str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    api_code, web_code, cli_code = (_patient_with_baseline(client, therapist) for _ in range(3))

    r = client.post(f"/api/v1/patients/{api_code}/sessions", json=REQUEST, headers=therapist)
    assert r.status_code == 202, r.text
    by_api = _session_of(client, therapist, r.json()["id"])

    token = sign_in(client, "theo")
    form = {k: str(v) for k, v in REQUEST.items()} | {"csrf_token": token}
    r = client.post(f"/patients/{web_code}/sessions", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    by_web = _session_of(client, therapist, int(r.headers["location"].rsplit("/", 1)[1]))

    monkeypatch.setenv("CADENCE_HOME", str(settings.home))
    out = tmp_path / "cli"
    args = ["session", "--patient", cli_code, "--goal", "sleep", "--minutes", "0.25",
            "--seed", "7", "--model", str(settings.model), "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    cli_report = json.loads((out / "report.json").read_text())

    assert by_api["midi"] == by_web["midi"] == (out / "session.mid").read_bytes()
    figures = [
        {k: v for k, v in report.items() if k not in RUN_ONLY}
        for report in (by_api["report"], by_web["report"], cli_report)
    ]
    assert figures[0] == figures[1] == figures[2]
    assert figures[0]["variant"] and figures[0]["reason"]
    for session in (by_api, by_web):  # the baseline's heart rate is the start state
        assert session["prescription"]["heart_rate"] == 84.0
    clinic = client.app.state.web.clinic  # type: ignore[attr-defined]
    with clinic.session() as db:
        for code in (api_code, web_code, cli_code):
            (record,) = history.patient_history(db, Actor.system(), code).sessions
            assert record.variant == figures[0]["variant"]  # every interface records it


def test_ratings_on_the_web_steer_the_next_suggestion(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path
) -> None:
    """Sessions played as minor and rated 5 on the session page, major ones rated 1: the next
    sessions' suggestions (the plan the web job will play) turn mostly minor."""
    code = add_patient(client, therapist)
    clinic = client.app.state.web.clinic  # type: ignore[attr-defined]
    actor = Actor.system()

    def suggested() -> list[str]:
        with clinic.session() as db:
            return [
                plan_for_patient(db, actor, clinic.config, SessionRequest(
                    "pain", 1.0, seed=seed, patient=code)).variant["mode"]  # type: ignore[index]
                for seed in range(20)
            ]  # fmt: skip

    before = suggested()
    assert 3 <= before.count("minor") <= 17
    (tmp_path / "r.json").write_text("{}")
    token = sign_in(client, "theo")
    for i in range(8):
        mode = ("minor", "major")[i % 2]
        with clinic.session() as db:
            sid = sessions.record_session(
                db, actor, code, goal="pain", prescription={}, report={},
                files={"report": tmp_path / "r.json"},
                variant={"instrument": 46, "tempo_offset": 0.0, "mode": mode, "density": 1.0},
            ).id  # fmt: skip
        rating = "5" if mode == "minor" else "1"
        r = client.post(f"/sessions/{sid}/feedback", data={"rating": rating, "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
    after = suggested()
    assert after.count("minor") >= 18, after


@pytest.mark.parametrize(
    ("case", "field", "cli_says"),
    [
        pytest.param("no-consent", "consent", "consent", id="no-consent"),
        pytest.param("unknown-patient", "not found", "no patient", id="unknown-patient"),
        pytest.param("baseline-out-of-range", "heart_rate", "heart_rate", id="baseline-range"),
    ],
)
def test_bad_patient_input_is_refused_on_all_three_interfaces(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, case: str, field: str, cli_says: str,
) -> None:  # fmt: skip
    from cadence.clinic.models import Baseline

    code = add_patient(client, therapist, consent=case != "no-consent")
    clinic = client.app.state.web.clinic  # type: ignore[attr-defined]
    if case == "unknown-patient":
        code = "P-NOSUCH1"
    if case == "baseline-out-of-range":  # an old row, recorded before today's bounds
        from cadence.clinic.access import patient_row

        with clinic.session() as db:
            row = patient_row(db, Actor.system(), code)
            db.add(Baseline(patient_id=row.id, resting_heart_rate=250.0, recorded_by="test"))
            db.commit()
    r = client.post(f"/api/v1/patients/{code}/sessions", json=REQUEST, headers=therapist)
    assert r.status_code in (404, 409, 422) and field in r.text.lower(), r.text
    token = sign_in(client, "theo")
    form = {k: str(v) for k, v in REQUEST.items()} | {"csrf_token": token}
    r = client.post(f"/patients/{code}/sessions", data=form, follow_redirects=False)
    assert r.status_code in (404, 409, 422) and field in r.text.lower()
    monkeypatch.setenv("CADENCE_HOME", str(settings.home))
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["session", "--patient", code, "--goal", "sleep",
                                      "--minutes", "0.25", "--out", str(out)])  # fmt: skip
    assert result.exit_code != 0 and cli_says in str(result.exception).lower()
    assert not out.exists()
    with clinic.session() as db:
        assert db.query(Job).count() == 0


def _form_values(html: str) -> dict[str, str]:
    """The new-session form's filled-in inputs, as a browser would post them unchanged."""
    import re

    filled = r'<input name="([a-z_]+)" id="field-[a-z_]+"[^>]* value="([^"]+)"'
    return dict(re.findall(filled, html))


def test_new_session_page_opens_with_the_patients_records_applied(
    client: TestClient, settings: WebSettings, therapist: dict[str, str]
) -> None:
    """A gait patient with a recorded cadence and fall risk: the form opens with the plan
    already made from them (never asking for the cadence, the fall risk kept), the suggestion
    and its reason shown; started as it opened, the job plays exactly the plan shown."""
    code = add_patient(client, therapist)
    r = client.put(f"/api/v1/patients/{code}/baseline", headers=therapist,
                   json={"resting_heart_rate": 84, "cadence_spm": 92, "fall_risk": True})
    assert r.status_code == 204, r.text
    csrf = sign_in(client, "theo")
    page = client.get(f"/patients/{code}/sessions/new?goal=gait")
    assert page.status_code == 200
    assert 'id="error-summary"' not in page.text and "data-field=" not in page.text
    assert "From the patient's records: 92 steps/min" in page.text
    assert "a recorded fall risk is never lifted" in page.text
    assert 'name="fall_risk"' not in page.text  # nothing to untick
    tempo = page.text.split("Tempo</dt><dd>", 1)[1].split(" BPM", 1)[0]
    assert tempo.startswith("92 → ") and float(tempo.split("→")[1]) <= 92  # never raised
    assert "baseline cadence 92 steps/min" in page.text
    assert 'id="suggestion"' in page.text and "still exploring" in page.text
    sleep = client.get(f"/patients/{code}/sessions/new?goal=sleep")
    assert "From the patient's records: 84 BPM" in sleep.text
    start = float(sleep.text.split("Tempo</dt><dd>", 1)[1].split(" →", 1)[0])
    assert start > 72  # the baseline heart rate, not the goal's default of 72, starts the plan

    form = {**_form_values(page.text), "minutes": "0.25"}
    preview = client.post(f"/patients/{code}/sessions",
                          data={**form, "goal": "gait", "action": "preview", "csrf_token": csrf})
    assert preview.status_code == 200 and "0.25 minutes" in preview.text
    r = client.post(f"/patients/{code}/sessions", follow_redirects=False,
                    data={**form, "goal": "gait", "action": "start", "csrf_token": csrf})
    assert r.status_code == 303, r.text
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    played = _session_of(client, therapist, job_id)
    bars = played["prescription"]["bars"]
    assert played["prescription"]["cadence_spm"] == 92.0
    assert bars[0]["tempo_bpm"] == 92.0 and max(b["tempo_bpm"] for b in bars) <= 92.0
    assert f"Tempo</dt><dd>92 → {bars[-1]['tempo_bpm']:.0f} BPM" in preview.text
    assert played["report"]["reason"] in preview.text
