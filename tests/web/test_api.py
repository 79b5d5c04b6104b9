"""The REST API end to end on SQLite in tmp_path with a tiny model: auth, object-level access,
validation, jobs, files with Range, feedback, outcomes, reports, limits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cadence.web.settings import WebSettings
from tests.web.conftest import (
    PASSWORD,
    add_clinician,
    add_patient,
    make_settings,
    token_headers,
    wait_job,
)

SLEEP = {"goal": "sleep", "minutes": 0.2, "seed": 1}


def test_openapi_lists_every_resource(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    for path in (
        "/api/v1/auth/tokens",
        "/api/v1/patients",
        "/api/v1/patients/{code}/sessions",
        "/api/v1/jobs/{job_id}",
        "/api/v1/sessions/{session_id}/feedback",
        "/api/v1/patients/{code}/outcomes",
        "/api/v1/patients/{code}/report",
        "/api/v1/sessions/{session_id}/files/{kind}",
        "/api/v1/patient-links",
    ):
        assert path in paths
    assert "bearerAuth" in str(spec["components"]["securitySchemes"]) or "HTTPBearer" in str(
        spec["components"]["securitySchemes"]
    )
    assert client.get("/api/docs").status_code == 200


def test_no_credentials_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/patients")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.get("/api/v1/patients", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_tokens_are_stored_hashed_and_revocable(
    client: TestClient, settings: WebSettings, therapist: dict[str, str]
) -> None:
    from cadence.web.jobs import open_clinic_for
    from cadence.web.store import AuthToken

    token = therapist["Authorization"].split()[1]
    me = client.get("/api/v1/auth/me", headers=therapist).json()
    assert me["username"] == "theo" and me["role"] == "therapist"
    with open_clinic_for(settings).session() as db:
        hashes = db.scalars(select(AuthToken.token_hash)).all()
    assert token not in hashes and len(hashes) == 1
    listed = client.get("/api/v1/auth/tokens", headers=therapist).json()
    assert len(listed) == 1 and "token" not in listed[0]
    assert client.delete("/api/v1/auth/tokens", headers=therapist).status_code == 204
    assert client.get("/api/v1/auth/me", headers=therapist).status_code == 401


def test_sign_in_is_rate_limited_per_username_and_address(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    wrong = {"username": "theo", "password": "wrong password"}
    for _ in range(5):
        assert client.post("/api/v1/auth/tokens", json=wrong).status_code == 401
    r = client.post("/api/v1/auth/tokens", json=wrong)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # Locked even with the right password until the window passes...
    right = {"username": "theo", "password": PASSWORD}
    assert client.post("/api/v1/auth/tokens", json=right).status_code == 429
    # ...but only for this username.
    add_clinician(settings, "olga", "therapist")
    assert token_headers(client, "olga")


def test_therapist_sees_only_their_own_patients(
    client: TestClient,
    therapist: dict[str, str],
    other_therapist: dict[str, str],
    admin: dict[str, str],
) -> None:
    code = add_patient(client, therapist)
    r = client.get(f"/api/v1/patients/{code}", headers=therapist)
    assert r.status_code == 200
    assert r.json()["name"] == "Jane Roe" and r.json()["consent"] is True
    assert client.get(f"/api/v1/patients/{code}", headers=other_therapist).status_code == 404
    assert client.get("/api/v1/patients", headers=other_therapist).json() == []
    # A 404 never says whether the record exists.
    hidden = client.get(f"/api/v1/patients/{code}", headers=other_therapist).json()
    assert client.get("/api/v1/patients/P-NOSUCH", headers=other_therapist).json() == hidden
    assert [p["code"] for p in client.get("/api/v1/patients", headers=admin).json()] == [code]
    r = client.patch(f"/api/v1/patients/{code}", json={"notes": "likes piano"}, headers=therapist)
    assert r.status_code == 200 and r.json()["notes"] == "likes piano"
    r = client.patch(f"/api/v1/patients/{code}", json={"notes": "x"}, headers=other_therapist)
    assert r.status_code == 404
    r = client.post(f"/api/v1/patients/{code}/sessions", json=SLEEP, headers=other_therapist)
    assert r.status_code == 404


def test_validation_errors_are_422_with_fields(
    client: TestClient, therapist: dict[str, str]
) -> None:
    r = client.post("/api/v1/patients", json={"name": "", "birth_year": "x"}, headers=therapist)
    assert r.status_code == 422
    fields = {e["loc"][-1] for e in r.json()["detail"]}
    assert {"name", "birth_year"} <= fields
    code = add_patient(client, therapist)
    # Out of the therapy's safe bounds: Prescription.for_goal names the field.
    bad = {"goal": "anxiety", "minutes": 0.2, "heart_rate": 10}
    r = client.post(f"/api/v1/patients/{code}/sessions", json=bad, headers=therapist)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "heart_rate"]
    bad = {"goal": "gait", "minutes": 0.2, "cadence_spm": 100, "gait_step": 0.5}
    r = client.post(f"/api/v1/patients/{code}/sessions", json=bad, headers=therapist)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "gait_step"]
    r = client.post(
        f"/api/v1/patients/{code}/sessions", json={"goal": "dance", "minutes": 1}, headers=therapist
    )
    assert r.status_code == 422
    assert client.get("/api/v1/jobs", headers=therapist).json() == []


def test_session_needs_consent(client: TestClient, therapist: dict[str, str]) -> None:
    code = add_patient(client, therapist, consent=False)
    r = client.post(f"/api/v1/patients/{code}/sessions", json=SLEEP, headers=therapist)
    assert r.status_code == 409 and "consent" in r.json()["detail"]
    assert client.get("/api/v1/jobs", headers=therapist).json() == []


def test_session_job_files_feedback_outcomes_report(
    client: TestClient, therapist: dict[str, str], other_therapist: dict[str, str]
) -> None:
    code = add_patient(client, therapist)
    r = client.post(f"/api/v1/patients/{code}/sessions", json=SLEEP, headers=therapist)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "done")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=other_therapist).status_code == 404
    done = wait_job(client, therapist, job["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"] == 1.0 and done["bars_done"] == done["bars_total"] > 0
    sid = done["session_id"]

    session = client.get(f"/api/v1/sessions/{sid}", headers=therapist).json()
    assert session["goal"] == "sleep" and session["patient_code"] == code
    assert {"wav", "svg", "png"} <= set(session["files"])
    assert session["report"]["max_tempo_deviation_bpm"] == 0.0
    assert client.get(f"/api/v1/sessions/{sid}", headers=other_therapist).status_code == 404

    wav = f"/api/v1/sessions/{sid}/files/wav"
    full = client.get(wav, headers=therapist)
    assert full.status_code == 200 and full.headers["content-type"] == "audio/wav"
    assert full.headers["accept-ranges"] == "bytes"
    part = client.get(wav, headers={**therapist, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
    assert part.content == full.content[100:200]
    assert client.get(wav, headers=other_therapist).status_code == 404
    svg = client.get(f"/api/v1/sessions/{sid}/files/svg", headers=therapist)
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    png = client.get(f"/api/v1/sessions/{sid}/files/png", headers=therapist)
    assert png.content.startswith(b"\x89PNG")

    r = client.post(f"/api/v1/sessions/{sid}/feedback", json={"rating": 4}, headers=therapist)
    assert r.status_code == 201 and r.json()["rating"] == 4
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json={"rating": 9}, headers=therapist)
    assert r.status_code == 422
    for phase, value in (("before", 40.0), ("after", 65.0)):
        r = client.post(
            f"/api/v1/patients/{code}/outcomes",
            json={"measure": "mood_vas", "phase": phase, "value": value, "session_id": sid},
            headers=therapist,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/patients/{code}/outcomes",
        json={"measure": "mood_vas", "phase": "after", "value": 500},
        headers=therapist,
    )
    assert r.status_code == 422
    report = client.get(f"/api/v1/patients/{code}/report", headers=therapist).json()
    mood = report["measures"]["mood_vas"]
    assert mood["n"] == 1 and mood["mean_change"] == 25.0
    # One pair is under five: no verdict and no interval, and the report says why.
    assert mood["improved"] is None and mood["ci_low"] is None
    assert mood["note"] == "too few sessions to judge (n = 1)"
    for name, kind in (("trends.png", "image/png"), ("stats.csv", "text/csv")):
        r = client.get(f"/api/v1/patients/{code}/report/{name}", headers=therapist)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
    fhir = client.get(f"/api/v1/patients/{code}/report/observations.fhir.json", headers=therapist)
    assert fhir.json()["resourceType"] == "Bundle"
    goal = client.get("/api/v1/reports/goals/sleep", headers=therapist).json()
    assert goal["measures"]["mood_vas"]["n"] == 1
    assert client.get(f"/api/v1/patients/{code}/report", headers=other_therapist).status_code == 404


def test_every_patient_read_is_audited(
    client: TestClient, settings: WebSettings, therapist: dict[str, str]
) -> None:
    from cadence.clinic import audit
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    code = add_patient(client, therapist)
    client.get(f"/api/v1/patients/{code}", headers=therapist)
    client.get(f"/api/v1/patients/{code}/outcomes", headers=therapist)
    with open_clinic_for(settings).session() as db:
        entries = audit.list_audit(db, Actor.system(), code)
    mine = [e for e in entries if e.actor_name == "theo"]
    assert {"create", "read"} <= {e.action for e in mine}
    assert all(e.actor_role == "therapist" for e in mine)


def test_full_queue_is_503_and_saves_nothing(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cadence.web import create_app, jobs

    release = threading.Event()
    started = threading.Event()

    def blocked(job_id: int, settings: WebSettings | None = None) -> None:
        started.set()
        release.wait(30)

    monkeypatch.setattr(jobs, "run_job_in_child", blocked)
    settings = make_settings(tmp_path / "home", tiny_model, job_workers=1, queue_size=1)
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        headers = token_headers(client, "theo")
        code = add_patient(client, headers)
        url = f"/api/v1/patients/{code}/sessions"
        assert client.post(url, json=SLEEP, headers=headers).status_code == 202
        assert started.wait(10)
        assert client.post(url, json=SLEEP, headers=headers).status_code == 202  # waits
        r = client.post(url, json=SLEEP, headers=headers)
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
        assert len(client.get("/api/v1/jobs", headers=headers).json()) == 2
        release.set()


def test_a_failing_job_says_why(tmp_path: Path, tiny_model: Path) -> None:
    from cadence.web import create_app

    settings = make_settings(tmp_path / "home", tmp_path / "no-such-model")
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        headers = token_headers(client, "theo")
        code = add_patient(client, headers)
        job = client.post(f"/api/v1/patients/{code}/sessions", json=SLEEP, headers=headers).json()
        done = wait_job(client, headers, job["id"])
        assert done["status"] == "failed" and done["session_id"] is None
        assert done["error"]
        assert client.get(f"/api/v1/patients/{code}/sessions", headers=headers).json() == []


def test_uploads_over_the_limit_or_not_music_are_refused(
    tmp_path: Path, tiny_model: Path, scale_midi: Path
) -> None:
    from cadence.web import create_app

    settings = make_settings(tmp_path / "home", tiny_model, max_upload_mb=0.01)  # ~10 KB
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        headers = token_headers(client, "theo")
        code = add_patient(client, headers)
        url = f"/api/v1/patients/{code}/favourites"
        midi = scale_midi.read_bytes()
        r = client.post(url, files={"file": ("tune.mid", midi, "audio/midi")}, headers=headers)
        assert r.status_code == 201, r.text
        favourite = r.json()["id"]
        assert [f["id"] for f in client.get(url, headers=headers).json()] == [favourite]
        # The favourite primes a session.
        r = client.post(
            f"/api/v1/patients/{code}/sessions",
            json={**SLEEP, "favourite_id": favourite},
            headers=headers,
        )
        assert r.status_code == 202
        assert wait_job(client, headers, r.json()["id"])["status"] == "done"
        big = b"MThd" + bytes(400_000)
        r = client.post(url, files={"file": ("big.mid", big, "audio/midi")}, headers=headers)
        assert r.status_code == 413
        r = client.post(url, files={"file": ("notes.txt", b"hello", "text/plain")}, headers=headers)
        assert r.status_code == 415
        r = client.post(
            url, files={"file": ("fake.mid", b"not midi", "audio/midi")}, headers=headers
        )
        assert r.status_code == 415


def test_cookie_api_calls_that_change_data_need_the_csrf_header(
    client: TestClient, settings: WebSettings
) -> None:
    from tests.web.test_pages import sign_in

    add_clinician(settings, "theo", "therapist")
    csrf = sign_in(client, "theo")
    assert client.get("/api/v1/patients").status_code == 200
    r = client.post("/api/v1/patients", json={"name": "A B"})
    assert r.status_code == 403
    r = client.post("/api/v1/patients", json={"name": "A B"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_preferences_and_the_audit_log(
    client: TestClient, therapist: dict[str, str], admin: dict[str, str]
) -> None:
    code = add_patient(client, therapist)
    url = f"/api/v1/patients/{code}/preferences"
    assert client.get(url, headers=therapist).json() is None
    prefs = {"liked_instruments": ["piano"], "liked_styles": ["nottingham"],
             "youth_years": [1961, 1967]}
    r = client.put(url, json=prefs, headers=therapist)
    assert r.status_code == 200 and r.json()["youth_years"] == [1961, 1967]
    clash = {"liked_instruments": ["piano"], "disliked_instruments": ["piano"]}
    assert client.put(url, json=clash, headers=therapist).status_code == 422
    assert client.get("/api/v1/audit", headers=therapist).status_code == 403
    entries = client.get(f"/api/v1/audit?code={code}", headers=admin).json()
    assert {"preferences", "patients", "consents"} <= {e["entity"] for e in entries}
    assert all("Jane" not in str(e) for e in entries)  # no plaintext in the log


def test_baseline_records_fall_risk(client: TestClient, therapist: dict[str, str]) -> None:
    from cadence.clinic.models import Baseline

    code = add_patient(client, therapist)
    url = f"/api/v1/patients/{code}/baseline"
    assert client.put(url, json={"cadence_spm": 92}, headers=therapist).status_code == 204
    assert client.put(url, json={"fall_risk": True}, headers=therapist).status_code == 204
    r = client.put(url, json={"fall_risk": "sometimes"}, headers=therapist)
    assert r.status_code == 422 and "fall_risk" in r.text
    with client.app.state.web.clinic.session() as db:  # type: ignore[attr-defined]
        rows = db.scalars(select(Baseline).order_by(Baseline.id)).all()
        assert [(b.cadence_spm, b.fall_risk) for b in rows] == [(92, None), (92, True)]
