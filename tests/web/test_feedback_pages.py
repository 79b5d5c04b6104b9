"""Feedback comments on the session and patient pages and through the API; a patient's new
comment flagged to the therapist on the patient list until they open the page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, add_patient, token_headers
from tests.web.test_pages import sign_in


def _session_with_comment(settings: WebSettings, code: str, comment: str) -> int:
    from cadence.clinic import feedback, sessions
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        view = sessions.record_session(db, Actor.system(), code, goal="sleep", prescription={},
                                       files={}, report={})
        feedback.add_feedback(db, Actor.patient(code, via="link 1"), view.id, rating=2,
                              liked=False, comment=comment)
        db.commit()
        return view.id


def test_a_patient_comment_is_flagged_then_seen(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    sid = _session_with_comment(settings, code, "It made me dizzy")
    sign_in(client, "theo")
    listing = client.get("/patients").text
    assert f'href="/patients/{code}#feedback" class="new-count">1 new</a>' in listing
    page = client.get(f"/patients/{code}").text
    assert "It made me dizzy" in page and "<strong>New</strong>" in page
    assert f'href="/sessions/{sid}">session {sid}</a>' in page
    # Opened by the responsible therapist: no longer new, on the list or the page.
    assert "new-count" not in client.get("/patients").text
    assert "<strong>New</strong>" not in client.get(f"/patients/{code}").text
    session_page = client.get(f"/sessions/{sid}").text
    assert "It made me dizzy" in session_page and "did not like it" in session_page


def test_opening_the_session_page_marks_only_that_session_seen(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    first = _session_with_comment(settings, code, "too loud")
    _session_with_comment(settings, code, "lovely")
    sign_in(client, "theo")
    assert "2 new</a>" in client.get("/patients").text
    assert "too loud" in client.get(f"/sessions/{first}").text
    assert "1 new</a>" in client.get("/patients").text


def test_an_admin_viewing_leaves_the_therapists_flag(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    add_clinician(settings, "ada", "admin")
    code = add_patient(client, token_headers(client, "theo"))
    _session_with_comment(settings, code, "dizzy")
    sign_in(client, "ada")
    assert "dizzy" in client.get(f"/patients/{code}").text
    sign_in(client, "theo")
    assert "1 new</a>" in client.get("/patients").text


def test_feedback_api_lists_comments_for_the_clinician_only(
    client: TestClient, settings: WebSettings, therapist: dict[str, str],
    other_therapist: dict[str, str],
) -> None:
    from cadence.clinic import audit
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    code = add_patient(client, therapist)
    sid = _session_with_comment(settings, code, "It made me dizzy")
    r = client.get(f"/api/v1/sessions/{sid}/feedback", headers=therapist)
    assert r.status_code == 200
    [item] = r.json()
    assert item["comment"] == "It made me dizzy" and item["rating"] == 2
    assert item["seen"] is False  # the API reads; only the pages mark seen
    [same] = client.get(f"/api/v1/patients/{code}/feedback", headers=therapist).json()
    assert same["id"] == item["id"]
    assert client.get(f"/api/v1/sessions/{sid}/feedback", headers=other_therapist
                      ).status_code == 404
    assert client.get(f"/api/v1/patients/{code}/feedback", headers=other_therapist
                      ).status_code == 404
    assert client.get(f"/api/v1/sessions/{sid}/feedback").status_code == 401
    with open_clinic_for(settings).session() as db:
        entries = audit.list_audit(db, Actor.system(), code)
        stored = db.execute(text("SELECT comment_enc FROM feedback")).scalars().all()
    reads = [e for e in entries if e.actor_name == "theo" and e.entity == "feedback"]
    assert len(reads) == 2  # one per call, each audited
    assert all(b"dizzy" not in bytes(c) for c in stored)  # still encrypted at rest
