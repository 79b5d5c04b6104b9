"""The server-rendered pages through TestClient: sign-in with CSRF and secure cookies,
redirects, inline form errors, object-level 404, the patient's single-use link."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings
from tests.web.conftest import PASSWORD, add_clinician, add_patient, make_settings, wait_job

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the CSRF token of the signed-in session."""
    token = csrf_of(client.get("/signin").text)
    r = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": token, "next": "/patients"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/patients").text)


def test_pages_redirect_to_sign_in(client: TestClient) -> None:
    r = client.get("/patients/P-1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/patients/P-1"
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_sign_in_needs_csrf_and_sets_a_safe_cookie(tmp_path: Path, tiny_model: Path) -> None:
    from cadence.web import create_app

    settings = make_settings(tmp_path / "home", tiny_model, session_cookie_secure=True)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        add_clinician(settings, "theo", "therapist")
        form = {"username": "theo", "password": PASSWORD, "next": "/patients"}
        assert client.post("/signin", data=form, follow_redirects=False).status_code == 403
        token = csrf_of(client.get("/signin").text)
        r = client.post("/signin", data={**form, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/patients"
        cookie = next(c for c in r.headers.get_list("set-cookie") if "cadence_session=" in c)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
        page = client.get("/patients")
        assert page.status_code == 200 and "theo" in page.text
        # An open redirect is refused.
        token = csrf_of(client.get("/patients").text)
        client.post("/signout", data={"csrf_token": token})
        token = csrf_of(client.get("/signin").text)
        r = client.post(
            "/signin",
            data={**form, "csrf_token": token, "next": "//evil.example"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/patients"


def test_wrong_password_shows_an_error_then_429(client: TestClient, settings: WebSettings) -> None:
    add_clinician(settings, "theo", "therapist")
    for _ in range(5):
        token = csrf_of(client.get("/signin").text)
        r = client.post(
            "/signin", data={"username": "theo", "password": "nope", "csrf_token": token}
        )
        assert r.status_code == 401 and "wrong username or password" in r.text
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"username": "theo", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "retry-after" in r.headers


def test_forms_show_inline_errors_and_save_nothing(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    csrf = sign_in(client, "theo")
    r = client.post("/patients", data={"name": "", "birth_year": "1850", "csrf_token": csrf})
    assert r.status_code == 422
    assert 'data-field="name"' in r.text and 'data-field="birth_year"' in r.text
    assert "No patients yet" in r.text
    # A POST without the CSRF field is refused.
    assert client.post("/patients", data={"name": "Ann"}).status_code == 403
    r = client.post("/patients", data={"name": "Ann Lee", "birth_year": "1948", "csrf_token": csrf})
    assert r.status_code == 200 and "Ann Lee" in r.text
    code = re.search(r"<small>(P-[A-Z0-9]+)</small>", r.text).group(1)  # type: ignore[union-attr]
    client.post(f"/patients/{code}/consent", data={"given": "yes", "csrf_token": csrf})
    page = client.get(f"/patients/{code}/sessions/new?goal=anxiety")
    assert page.status_code == 200 and "20 minutes" in page.text and "Tempo" in page.text
    assert 'min="30.0" max="220.0"' in page.text  # the heart-rate field's safe bounds
    edit = {"name": "Ann Lee-Park", "birth_year": "1948", "notes": "prefers strings"}
    r = client.post(f"/patients/{code}/edit", data={**edit, "csrf_token": csrf})
    assert r.status_code == 200 and "Ann Lee-Park" in r.text and "prefers strings" in r.text
    r = client.post(
        f"/patients/{code}/baseline", data={"resting_heart_rate": "64", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "resting heart rate 64.0 BPM" in r.text
    r = client.post(f"/patients/{code}/baseline", data={"fall_risk": "yes", "csrf_token": csrf})
    assert r.status_code == 200 and "64.0 BPM; at risk of falling" in r.text
    r = client.post(f"/patients/{code}/baseline", data={"fall_risk": "often", "csrf_token": csrf})
    assert r.status_code == 422 and 'data-field="fall_risk"' in r.text
    r = client.post(f"/patients/{code}/baseline", data={"cadence_spm": "500", "csrf_token": csrf})
    assert r.status_code == 422 and 'data-field="cadence_spm"' in r.text
    r = client.post(f"/patients/{code}/edit", data={"name": "", "csrf_token": csrf})
    assert r.status_code == 422 and 'data-field="name"' in r.text
    bad = {
        "goal": "anxiety",
        "minutes": "0.2",
        "heart_rate": "10",
        "csrf_token": csrf,
        "action": "start",
    }
    r = client.post(f"/patients/{code}/sessions", data=bad)
    assert r.status_code == 422 and 'data-field="heart_rate"' in r.text
    preview = {**bad, "heart_rate": "95", "action": "preview"}
    r = client.post(f"/patients/{code}/sessions", data=preview)
    assert r.status_code == 200 and "heart rate 95 BPM" in r.text
    assert client.get("/api/v1/jobs").json() == []


def test_another_therapists_patient_is_404(client: TestClient, settings: WebSettings) -> None:
    from tests.web.conftest import token_headers

    add_clinician(settings, "theo", "therapist")
    add_clinician(settings, "olga", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    sign_in(client, "olga")
    assert client.get(f"/patients/{code}").status_code == 404
    assert client.get(f"/patients/{code}/report").status_code == 404
    assert code not in client.get("/patients").text
    assert client.get("/clinicians").status_code == 403  # admins only
    assert client.get("/audit").status_code == 403


def test_patient_link_serves_many_listens_and_binds_only_on_start(
    client: TestClient, settings: WebSettings
) -> None:
    from cadence.web import create_app
    from tests.web.conftest import token_headers

    add_clinician(settings, "theo", "therapist")
    headers = token_headers(client, "theo")
    code = add_patient(client, headers)
    job = client.post(
        f"/api/v1/patients/{code}/sessions",
        json={"goal": "gait", "minutes": 0.2, "seed": 2, "cadence_spm": 100},
        headers=headers,
    ).json()
    sid = wait_job(client, headers, job["id"])["session_id"]
    r = client.post("/api/v1/patient-links", json={"session_id": sid}, headers=headers)
    assert r.status_code == 201
    path = r.json()["url"].split("testserver", 1)[1]

    with TestClient(create_app(settings)) as patient, TestClient(create_app(settings)) as other:
        # A link scanner's GETs change nothing: the page shows, the link stays unclaimed.
        scanner = other.get(path)
        assert scanner.status_code == 200 and 'id="start"' in scanner.text
        assert "/audio" not in scanner.text
        assert other.get(f"{path}/audio").status_code == 403  # not started
        page = patient.get(path)
        assert page.status_code == 200 and 'id="start"' in page.text
        assert "Music to walk to" in page.text and "theo" in page.text
        assert "handrail" in page.text and "volume" in page.text
        r = patient.post(f"{path}/start", data={"csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == path
        page = patient.get(path)
        assert page.status_code == 200 and f'src="{path}/audio?session={sid}"' in page.text
        # Another browser is refused, in the patient's words.
        refused = other.get(path)
        assert refused.status_code == 403 and "another phone or computer" in refused.text
        assert other.get(f"{path}/audio").status_code == 403
        again = other.post(f"{path}/start", data={"csrf_token": csrf_of(scanner.text)})
        assert again.status_code == 403
        audio = patient.get(f"{path}/audio", headers={"Range": "bytes=0-43"})
        assert audio.status_code == 206 and audio.content[:4] == b"OggS"
        assert audio.headers["content-type"] == "audio/ogg"
        token = csrf_of(page.text)
        r = patient.post(path, data={"rating": "9", "session": str(sid), "csrf_token": token})
        assert r.status_code == 422
        for stars in ("5", "4"):  # rating does not spend the link
            r = patient.post(path, data={"rating": stars, "comment": "lovely", "session": str(sid),
                                         "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303
            assert "Thank you" in patient.get(r.headers["location"]).text
        for _ in range(3):
            assert patient.get(f"{path}/audio").status_code == 200
    assert client.get("/listen/not-a-real-token").status_code == 410
    # The patient's listens and ratings are in the audit log under the patient, not theo.
    from cadence.clinic import audit
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        entries = audit.list_audit(db, Actor.system(), code)
    mine = [e for e in entries if e.actor_role == "patient"]
    assert all(e.actor_name == f"patient {code} (link 1)" for e in mine)
    actions = [(e.action, e.entity) for e in mine]
    assert actions.count(("create", "feedback")) == 2
    assert actions.count(("use", "session_files")) == 4  # four listens from the start
    assert ("use", "patient_link") in actions  # started
    assert {"read", "create", "use"} <= {action for action, _ in actions}
    assert not any(e.actor_name.startswith("theo") and e.action == "use" for e in entries)


def test_page_uploads_over_the_limit_or_not_music(tmp_path: Path, tiny_model: Path) -> None:
    from cadence.web import create_app
    from tests.web.conftest import token_headers

    settings = make_settings(tmp_path / "home", tiny_model, max_upload_mb=0.01)
    with TestClient(create_app(settings)) as client:
        add_clinician(settings, "theo", "therapist")
        code = add_patient(client, token_headers(client, "theo"))
        csrf = sign_in(client, "theo")
        url = f"/patients/{code}/favourites"
        r = client.post(
            url, data={"csrf_token": csrf}, files={"file": ("notes.txt", b"hi", "text/plain")}
        )
        assert r.status_code == 415 and 'data-field="file"' in r.text
        big = b"MThd" + bytes(600_000)
        r = client.post(
            url, data={"csrf_token": csrf}, files={"file": ("big.mid", big, "audio/midi")}
        )
        assert r.status_code == 413 and "File too large" in r.text
        page = client.get(f"/patients/{code}")
        assert "<li>" not in page.text.split('id="favourites"')[1]  # nothing was stored
