"""The patient page's outcome form: a session picker, and a corrected value saved with its
session after a validation error, so the report pairs it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, add_patient, token_headers
from tests.web.test_pages import sign_in


def test_a_corrected_outcome_keeps_its_session(client: TestClient, settings: WebSettings) -> None:
    from cadence.clinic import sessions
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    add_clinician(settings, "theo", "therapist")
    headers = token_headers(client, "theo")
    code = add_patient(client, headers)
    with open_clinic_for(settings).session() as db:
        sid = sessions.record_session(db, Actor.system(), code, goal="mood", prescription={},
                                      files={}, report={}).id
        db.commit()
    token = sign_in(client, "theo")
    page = client.get(f"/patients/{code}").text
    assert re.search(rf'<select name="session_id" id="outcome-session">.*'
                     rf'<option value="{sid}" >#{sid} mood', page, re.S)
    path = f"/patients/{code}/outcomes"
    form = {"measure": "mood_vas", "phase": "before", "session_id": str(sid), "csrf_token": token}
    bad = client.post(path, data={**form, "value": "500"})
    assert bad.status_code == 422
    # Nothing from the half-filled form is lost, the session included.
    assert f'<option value="{sid}" selected>' in bad.text
    assert 'value="500"' in bad.text and '<option value="mood_vas" selected>' in bad.text
    assert client.post(path, data={**form, "value": "40"}, follow_redirects=False
                       ).status_code == 303
    client.post(path, data={**form, "phase": "after", "value": "70"})
    saved = client.get(f"/api/v1/patients/{code}/outcomes", headers=headers).json()
    assert [(o["phase"], o["value"], o["session_id"]) for o in saved] == [
        ("before", 40.0, sid), ("after", 70.0, sid)
    ]
    report = client.get(f"/api/v1/patients/{code}/report", headers=headers).json()
    assert report["measures"]["mood_vas"]["n"] == 1  # paired through the session
    shown = client.get(f"/patients/{code}/report").text
    assert "too few sessions to judge (n = 1)" in shown


def test_a_session_id_that_is_not_a_number_is_a_field_error(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    token = sign_in(client, "theo")
    r = client.post(f"/patients/{code}/outcomes", data={
        "measure": "mood_vas", "phase": "before", "value": "40", "session_id": "abc",
        "csrf_token": token})
    assert r.status_code == 422 and "Session: choose one of the patient&#39;s sessions" in r.text
