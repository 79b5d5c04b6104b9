"""Issue 17's findings against the web app, each as the probe that found it (docs/security.md
maps every finding to its test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
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
    old_path = old_url.replace("http://testserver", "")
    assert listener.get(old_path).status_code == 410
    assert b"second" not in listener.get(old_path + "/audio").content
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
    page = listener.get(url)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    listener.post(url + "/start", data={"csrf_token": token.group(1)})
    audio = listener.get(url + "/audio")
    assert audio.status_code == 200 and audio.headers["cache-control"] == "no-store"


# --- uploads and jobs -----------------------------------------------------------------------


def _bomb(path: Path, mib: int = 256) -> Path:
    """A small .mxl whose one member unpacks to ``mib`` MiB of MusicXML-looking text."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("score.musicxml", "w", force_zip64=True) as member:
        member.write(b'<?xml version="1.0"?><score-partwise version="3.1">')
        block = b" " * (1 << 20)
        for _ in range(mib):
            member.write(block)
        member.write(b"</score-partwise>")
    return path


def test_a_decompression_bomb_is_refused_at_upload(
    client: TestClient, therapist: dict[str, str], tmp_path: Path
) -> None:
    code = add_patient(client, therapist)
    bomb = _bomb(tmp_path / "tune.mxl")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with bomb.open("rb") as f:
        r = client.post(f"/api/v1/patients/{code}/favourites", headers=therapist,
                        files={"file": ("tune.mxl", f, "application/vnd.recordare.musicxml")})
    assert r.status_code == 422 and "too large once unpacked" in r.text, r.text
    assert client.get(f"/api/v1/patients/{code}/favourites", headers=therapist).json() == []


def test_the_parser_refuses_a_bomb_within_bounded_memory(tmp_path: Path) -> None:
    """In a process limited to 3 GiB of address space (the interpreter, torch and music21 take
    about 1.3 GiB), reading the bomb fails fast with the reason, not with MemoryError."""
    import subprocess
    import sys
    import time

    bomb = _bomb(tmp_path / "tune.mxl", mib=1024)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from cadence.music.io import load_score\n"
        "from cadence.music.formats import UnreadableMusic\n"
        "try:\n    load_score(sys.argv[1])\n"
        "except UnreadableMusic as err:\n    print(err.reason)\n"
    )
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, str(bomb)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "too large once unpacked"
    assert time.monotonic() - start < 60


def test_favourite_ids_are_per_patient(
    client: TestClient, therapist: dict[str, str], other_therapist: dict[str, str],
    tmp_path: Path,
) -> None:
    tune = tmp_path / "tune.abc"
    tune.write_text("X:1\nT:Same tune\nK:D\nDEF|\n")
    ids = []
    for headers in (therapist, other_therapist):
        code = add_patient(client, headers)
        with tune.open("rb") as f:
            r = client.post(f"/api/v1/patients/{code}/favourites", headers=headers,
                            files={"file": ("tune.abc", f, "text/plain")})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert ids[0] != ids[1]  # the same bytes, two patients: two favourites


def test_a_code_of_another_therapists_patient_is_not_given_away(
    client: TestClient, therapist: dict[str, str], other_therapist: dict[str, str]
) -> None:
    taken = add_patient(client, other_therapist)
    answers = [client.post("/api/v1/patients", json={"name": "X", "code": code},
                           headers=therapist) for code in (taken, "NEVER-USED-1")]
    assert {r.status_code for r in answers} == {403}
    assert answers[0].json() == answers[1].json()


def test_favourite_id_is_checked_at_the_request(
    client: TestClient, therapist: dict[str, str], other_therapist: dict[str, str],
    tmp_path: Path,
) -> None:
    tune = tmp_path / "tune.abc"
    tune.write_text("X:1\nT:Theirs\nK:D\nDEF|\n")
    theirs = add_patient(client, other_therapist)
    with tune.open("rb") as f:
        their_fav = client.post(f"/api/v1/patients/{theirs}/favourites", headers=other_therapist,
                                files={"file": ("tune.abc", f, "text/plain")}).json()["id"]
    mine = add_patient(client, therapist)
    for fav in (their_fav, 99999999999999999999):
        r = client.post(f"/api/v1/patients/{mine}/sessions", headers=therapist,
                        json={"goal": "sleep", "minutes": 0.2, "favourite_id": fav})
        assert r.status_code == 422 and "favourite_id" in r.text, r.text
    assert client.get("/api/v1/jobs", headers=therapist).json() == []


def test_job_errors_show_no_server_paths() -> None:
    from cadence.web.jobs import public_error

    text = ("favourite '/root/.local/share/cadence/files/ab/ab12cd.mxl' is corrupt; "
            "see /srv/cadence/jobs/7/")
    assert public_error(text) == "favourite 'ab12cd.mxl' is corrupt; see a folder"
    assert public_error("tempo: got 400; must be 20..200") == "tempo: got 400; must be 20..200"


def test_one_clinician_cannot_fill_the_queue_and_jobs_can_be_cancelled(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from cadence.web import create_app, jobs
    from tests.web.conftest import add_clinician, make_settings

    release = threading.Event()

    def blocked(job_id: int, settings: WebSettings | None = None) -> None:
        release.wait(30)

    monkeypatch.setattr(jobs, "run_job_in_child", blocked)
    settings = make_settings(tmp_path / "home", tiny_model, queue_size=8, jobs_per_clinician=2)
    body = {"goal": "sleep", "minutes": 0.2}
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        add_clinician(settings, "olga", "therapist")
        theo, olga = token_headers(client, "theo"), token_headers(client, "olga")
        mine, hers = add_patient(client, theo), add_patient(client, olga)
        url = f"/api/v1/patients/{mine}/sessions"
        made = [client.post(url, json=body, headers=theo) for _ in range(2)]
        assert [r.status_code for r in made] == [202, 202]
        third = client.post(url, json=body, headers=theo)
        assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
        assert "cancel" in third.json()["detail"]
        r = client.post(f"/api/v1/patients/{hers}/sessions", json=body, headers=olga)
        assert r.status_code == 202  # the others still get in
        first = made[0].json()["id"]
        assert client.post(f"/api/v1/jobs/{first}/cancel", headers=olga).status_code == 404
        r = client.post(f"/api/v1/jobs/{first}/cancel", headers=theo)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "failed" and r.json()["stage"] == "cancelled"
        assert client.post(f"/api/v1/jobs/{first}/cancel", headers=theo).status_code == 409
        assert client.post(url, json=body, headers=theo).status_code == 202  # quota freed
        release.set()


def test_the_quota_holds_under_concurrent_requests(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight requests at once against a quota of 2, with a slow queue (as a busy Redis is):
    exactly two jobs are saved, the rest 429 (a count taken before the insert let them in)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from cadence.web import create_app, jobs
    from tests.web.conftest import add_clinician, make_settings

    release = threading.Event()
    monkeypatch.setattr(jobs, "run_job_in_child", lambda job_id, settings=None: release.wait(30))
    reserve = jobs.LocalRunner.reserve

    def slow_reserve(self: jobs.LocalRunner) -> None:
        time.sleep(0.3)
        reserve(self)

    monkeypatch.setattr(jobs.LocalRunner, "reserve", slow_reserve)
    settings = make_settings(tmp_path / "home", tiny_model, queue_size=16, jobs_per_clinician=2)
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        theo = token_headers(client, "theo")
        url = f"/api/v1/patients/{add_patient(client, theo)}/sessions"
        start = threading.Barrier(8)

        def post(_: int) -> int:
            start.wait(10)
            return client.post(url, json={"goal": "sleep", "minutes": 0.2},
                               headers=theo).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(post, range(8)))
        listed = client.get("/api/v1/jobs", headers=theo).json()
        release.set()
    assert codes == [202, 202] + [429] * 6, codes
    assert len([j for j in listed if j["status"] != "failed"]) == 2, listed


def test_a_running_job_stops_when_cancelled(
    client: TestClient, settings: WebSettings, therapist: dict[str, str]
) -> None:
    import time

    code = add_patient(client, therapist)
    job = client.post(f"/api/v1/patients/{code}/sessions", headers=therapist,
                      json={"goal": "sleep", "minutes": 3, "seed": 1}).json()
    deadline = time.monotonic() + 120
    while client.get(f"/api/v1/jobs/{job['id']}", headers=therapist).json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=therapist)
    assert r.status_code in (200, 409), r.text
    if r.status_code == 409:
        pytest.skip("the job finished before it could be cancelled")
    time.sleep(2)
    after = client.get(f"/api/v1/jobs/{job['id']}", headers=therapist).json()
    assert after["status"] == "failed" and after["stage"] == "cancelled"
    assert after["session_id"] is None
    assert client.get(f"/api/v1/patients/{code}/sessions", headers=therapist).json() == []
    assert not (settings.jobs_dir / str(job["id"])).exists()
