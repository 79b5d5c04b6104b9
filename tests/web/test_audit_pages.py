"""The audit page: filters, paging, CSV export (admins only); one read per page view per
patient; failed sign-ins, link creation and link use in the log."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, add_patient, token_headers
from tests.web.test_pages import csrf_of, sign_in


def _entries(settings: WebSettings, code: str | None = None) -> list:
    from cadence.clinic import audit
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        return audit.list_audit(db, Actor.system(), code)


def test_a_patient_page_view_is_one_read(client: TestClient, settings: WebSettings) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    sign_in(client, "theo")
    before = len([e for e in _entries(settings, code) if e.action == "read"])
    assert client.get(f"/patients/{code}").status_code == 200
    reads = [e for e in _entries(settings, code) if e.action == "read"]
    assert len(reads) - before == 1  # patient, sessions, outcomes, feedback...: one entry
    client.get(f"/patients/{code}")
    assert len([e for e in _entries(settings, code) if e.action == "read"]) - before == 2


def test_failed_sign_in_is_audited(client: TestClient, settings: WebSettings) -> None:
    add_clinician(settings, "theo", "therapist")
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"username": "theo", "password": "wrong-password-1",
                                     "csrf_token": token, "next": "/patients"})
    assert r.status_code == 401
    failed = [e for e in _entries(settings) if e.action == "login-failed"]
    assert [(e.actor_name, e.actor_role) for e in failed] == [("theo", "anonymous")]


def test_link_creation_is_audited(client: TestClient, settings: WebSettings) -> None:
    from cadence.clinic import sessions
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    add_clinician(settings, "theo", "therapist")
    headers = token_headers(client, "theo")
    code = add_patient(client, headers)
    with open_clinic_for(settings).session() as db:
        sid = sessions.record_session(db, Actor.system(), code, goal="sleep", prescription={},
                                      files={}, report={}).id
        db.commit()
    r = client.post("/api/v1/patient-links", json={"session_id": sid}, headers=headers)
    assert r.status_code == 201
    made = [e for e in _entries(settings, code) if e.entity == "patient_link"]
    assert [(e.action, e.actor_name, e.detail) for e in made] == [
        ("create", "theo", f"session={sid}")
    ]


def test_audit_filters_paging_and_csv(client: TestClient, settings: WebSettings) -> None:
    add_clinician(settings, "ada", "admin")
    add_clinician(settings, "theo", "therapist")
    theo = token_headers(client, "theo")
    code = add_patient(client, theo)
    for _ in range(60):  # sixty API reads: sixty page views, sixty entries
        client.get(f"/api/v1/patients/{code}", headers=theo)
    sign_in(client, "ada")
    page = client.get("/audit", params={"actor": "theo", "action": "read"})
    assert page.status_code == 200
    assert "60 entries, newest first; page 1 of 2." in page.text
    assert page.text.count("<tr><td>") == 50
    second = client.get("/audit", params={"actor": "theo", "action": "read", "page": 2})
    assert second.text.count("<tr><td>") == 10 and 'rel="prev"' in second.text
    by_code = client.get("/audit", params={"code": code, "action": "create"})
    assert "<td>create</td>" in by_code.text and "<td>read</td>" not in by_code.text
    future = client.get("/audit", params={"since": "2999-01-01"})
    assert "0 entries" in future.text
    bad = client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "from: give a date such as 2026-12-04" in bad.text
    r = client.get("/audit.csv", params={"actor": "theo", "action": "read"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="cadence-audit-')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 60 and {row["actor_name"] for row in rows} == {"theo"}
    assert "Jane" not in r.text  # no plaintext
    exported = [e for e in _entries(settings) if e.action == "export"]
    assert [(e.actor_name, e.entity) for e in exported] == [("ada", "audit_log")]
    sign_in(client, "theo")
    assert client.get("/audit.csv").status_code == 403
