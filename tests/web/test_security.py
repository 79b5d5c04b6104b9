"""Issue 17's findings against the web app, each as the probe that found it (docs/security.md
maps every finding to its test)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from cadence.clinic import privacy, sessions
from cadence.clinic.actors import Actor
from cadence.web.settings import WebSettings
from cadence.web.store import Job, PatientLink
from tests.web.conftest import PASSWORD, add_patient, token_headers


def _actor(settings: WebSettings, username: str) -> Actor:
    from cadence.clinic import accounts
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        view = next(c for c in accounts.list_clinicians(db, Actor.system())
                    if c.username == username)
    return Actor(clinician_id=view.id, username=view.username, role=view.role)


def _session(settings: WebSettings, actor: Actor, code: str, tmp: Path, tag: str) -> int:
    """A stored session with a small WAV of its own (no model run)."""
    from cadence.web.jobs import open_clinic_for

    folder = tmp / f"out-{tag}"
    folder.mkdir()
    wav = folder / "session.wav"
    wav.write_bytes(b"RIFF" + bytes(40) + tag.encode())
    report = folder / "report.json"
    report.write_text(json.dumps({"tag": tag}))
    with open_clinic_for(settings).session() as db:
        return sessions.record_session(db, actor, code, goal="sleep", prescription={"bpm": 60},
                                       files={"wav": wav, "report": report},
                                       report={"tag": tag}).id


def _erase(settings: WebSettings, code: str) -> None:
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        privacy.erase_patient(db, Actor.system(), code)


def test_an_erased_patients_link_never_plays_another_patients_session(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path
) -> None:
    theo = _actor(settings, "theo")
    first = add_patient(client, therapist)
    old_sid = _session(settings, theo, first, tmp_path, "first")
    r = client.post("/api/v1/patient-links", json={"session_id": old_sid}, headers=therapist)
    assert r.status_code == 201, r.text
    old_url = r.json()["url"]
    _erase(settings, first)

    second = add_patient(client, therapist)
    new_sid = _session(settings, theo, second, tmp_path, "second")
    assert new_sid != old_sid  # ids are never reused
    listener = TestClient(client.app)
    page = listener.get(old_url.replace("http://testserver", ""))
    assert page.status_code == 410
    assert b"second" not in listener.get(old_url.replace("http://testserver", "") + "/audio").content
    listed = client.get(f"/api/v1/patient-links?session_id={new_sid}", headers=therapist)
    assert listed.status_code == 200 and listed.json() == []


def test_a_link_is_bound_to_its_patient_as_well_as_its_session(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path
) -> None:
    """Even were an id ever to come back, a link whose session is not its patient's is gone."""
    from cadence.web.jobs import open_clinic_for

    theo = _actor(settings, "theo")
    code = add_patient(client, therapist)
    sid = _session(settings, theo, code, tmp_path, "mine")
    url = client.post("/api/v1/patient-links", json={"session_id": sid},
                      headers=therapist).json()["url"].replace("http://testserver", "")
    other = add_patient(client, therapist)
    with open_clinic_for(settings).session() as db:
        link = db.scalar(select(PatientLink))
        assert link is not None
        link.patient_code = other  # as if the session id now named another patient's session
    assert TestClient(client.app).get(url).status_code == 410


def test_erasure_deletes_the_patients_jobs_and_links(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path
) -> None:
    from cadence.web.jobs import open_clinic_for

    theo = _actor(settings, "theo")
    code = add_patient(client, therapist)
    keep = add_patient(client, therapist)
    sid = _session(settings, theo, code, tmp_path, "gone")
    client.post("/api/v1/patient-links", json={"session_id": sid}, headers=therapist)
    with open_clinic_for(settings).session() as db:
        for patient in (code, keep):
            db.add(Job(patient_code=patient, clinician_id=theo.clinician_id, username="theo",
                       role="therapist", goal="sleep", params={}, status="failed",
                       error=f"/home/x/files/ab/{patient}.mid is broken"))
    _erase(settings, code)
    jobs = client.get("/api/v1/jobs", headers=therapist).json()
    assert [j["patient_code"] for j in jobs] == [keep]
    with open_clinic_for(settings).session() as db:
        assert db.scalars(select(PatientLink).where(PatientLink.patient_code == code)).all() == []
        assert db.scalars(select(Job).where(Job.patient_code == code)).all() == []


# --- accounts and tokens ------------------------------------------------------------------


def test_disabling_an_account_ends_its_tokens(
    client: TestClient, settings: WebSettings, admin: dict[str, str], therapist: dict[str, str]
) -> None:
    theo = _actor(settings, "theo").clinician_id
    assert client.get("/api/v1/auth/me", headers=therapist).status_code == 200
    r = client.patch(f"/api/v1/clinicians/{theo}", json={"active": False}, headers=therapist)
    assert r.status_code == 403
    r = client.patch(f"/api/v1/clinicians/{theo}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=therapist).status_code == 401
    r = client.post("/api/v1/auth/tokens", json={"username": "theo", "password": PASSWORD})
    assert r.status_code == 401
    client.patch(f"/api/v1/clinicians/{theo}", json={"active": True}, headers=admin)
    assert client.get("/api/v1/auth/me", headers=therapist).status_code == 401  # stays ended
    assert client.get("/api/v1/auth/me", headers=token_headers(client, "theo")).status_code == 200


def test_a_new_password_ends_earlier_tokens_and_follows_the_one_rule(
    client: TestClient, settings: WebSettings, admin: dict[str, str], therapist: dict[str, str]
) -> None:
    theo = _actor(settings, "theo").clinician_id
    url = f"/api/v1/clinicians/{theo}/password"
    for weak, needle in (("password", "at least 12"), (" " * 12, "only spaces"),
                         ("password1234", "too easy to guess")):
        r = client.put(url, json={"password": weak}, headers=admin)
        assert r.status_code == 422 and needle in r.text, r.text
        r = client.post("/api/v1/clinicians", headers=admin,
                        json={"username": "newbie", "password": weak, "role": "therapist"})
        assert r.status_code == 422 and needle in r.text, r.text
    assert client.put(url, json={"password": "walnut harbour tram"},
                      headers=admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=therapist).status_code == 401
    r = client.post("/api/v1/auth/tokens",
                    json={"username": "theo", "password": "walnut harbour tram"})
    assert r.status_code == 201


def test_every_token_expires(
    client: TestClient, settings: WebSettings, therapist: dict[str, str]
) -> None:
    from cadence.web.jobs import open_clinic_for
    from cadence.web.security import TOKEN_HOURS_MAX, find_token, issue_token

    body = {"username": "theo", "password": PASSWORD}
    assert client.post("/api/v1/auth/tokens", json={**body, "hours": None}).status_code == 422
    r = client.post("/api/v1/auth/tokens", json={**body, "hours": TOKEN_HOURS_MAX + 1})
    assert r.status_code == 422
    made = client.post("/api/v1/auth/tokens", json=body).json()
    assert made["expires_at"] is not None
    theo = _actor(settings, "theo").clinician_id
    assert theo is not None
    with open_clinic_for(settings).session() as db:
        token, row = issue_token(db, theo, "api", hours=1)
        row.expires_at = None  # what an older version stored for "hours": null
        db.flush()
        assert find_token(db, token, "api") is None
    assert client.get("/api/v1/auth/me",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- links and headers ----------------------------------------------------------------------


def test_a_forged_host_header_is_refused_and_links_use_the_public_url(
    tmp_path: Path, tiny_model: Path
) -> None:
    from cadence.web import create_app
    from tests.web.conftest import add_clinician, make_settings

    settings = make_settings(tmp_path / "home", tiny_model,
                             public_url="https://cadence.example.org/")
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        headers = token_headers(client, "theo")
        code = add_patient(client, headers)
        sid = _session(settings, _actor(settings, "theo"), code, tmp_path, "host")
        r = client.get("/api/v1/auth/me", headers={**headers, "Host": "evil.example.com"})
        assert r.status_code == 400
        r = client.post("/api/v1/patient-links", json={"session_id": sid},
                        headers={**headers, "Host": "localhost"})
        assert r.status_code == 201
        assert r.json()["url"].startswith("https://cadence.example.org/listen/")
        r = client.get("/api/v1/auth/me", headers={**headers, "Host": "cadence.example.org"})
        assert r.status_code == 200  # the public URL's host is allowed


def test_patient_files_are_never_cached(
    client: TestClient, settings: WebSettings, therapist: dict[str, str], tmp_path: Path
) -> None:
    code = add_patient(client, therapist)
    sid = _session(settings, _actor(settings, "theo"), code, tmp_path, "cache")
    r = client.get(f"/api/v1/sessions/{sid}/files/wav", headers=therapist)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    url = client.post("/api/v1/patient-links", json={"session_id": sid},
                      headers=therapist).json()["url"].replace("http://testserver", "")
    listener = TestClient(client.app)
    assert listener.get(url).status_code == 200
    audio = listener.get(url + "/audio")
    assert audio.status_code == 200 and audio.headers["cache-control"] == "no-store"
