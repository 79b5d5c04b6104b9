"""Consent on the patient page: date, recorder and scope shown; withdrawal only through a
confirmation page, and not the first thing a keyboard reaches."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, add_patient, token_headers
from tests.web.test_pages import csrf_of, sign_in


def test_consent_history_and_confirmed_withdrawal(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))  # consent given by theo
    sign_in(client, "theo")
    page = client.get(f"/patients/{code}").text
    assert 'id="consent-history"' in page
    assert "<td>given for sessions</td><td>theo</td>" in page
    # The consent card comes after the sessions, so withdrawal is not the first focus stop.
    assert page.index('id="sessions"') < page.index('id="withdraw-consent"')
    assert page.index('id="goal-sleep"') < page.index('id="withdraw-consent"')
    # A bare POST (no confirmation) withdraws nothing: it goes to the confirmation page.
    token = csrf_of(page)
    r = client.post(f"/patients/{code}/consent", data={"given": "no", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{code}/consent/withdraw"
    assert '<strong id="consent-state">given</strong>' in client.get(f"/patients/{code}").text
    confirm = client.get(f"/patients/{code}/consent/withdraw")
    assert confirm.status_code == 200 and 'id="confirm-withdraw-button"' in confirm.text
    assert confirm.text.index('id="keep-consent"') < confirm.text.index("confirm-withdraw-button")
    r = client.post(f"/patients/{code}/consent", data={
        "given": "no", "confirm": "yes", "csrf_token": csrf_of(confirm.text)},
        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{code}"
    after = client.get(f"/patients/{code}").text
    assert '<strong id="consent-state">not recorded</strong>' in after
    assert "<td>withdrawn for sessions</td><td>theo</td>" in after
    assert after.index('id="consent"') < after.index('id="sessions"')  # record it first


def test_another_therapist_cannot_open_the_withdrawal_page(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    add_clinician(settings, "olga", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    sign_in(client, "olga")
    assert client.get(f"/patients/{code}/consent/withdraw").status_code == 404
