"""Issue 18's presentation points through the pages: the session page in a clinician's words
(no raw keys, no None, no raw JSON; distinct downloads), an unknown goal refused, form errors at
their fields with aria attributes and a summary, job progress in words, the skip link and the
self-hosted API docs under a CSP with no third-party script."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient
from jinja2 import Environment, FileSystemLoader

from cadence.therapy import Prescription
from cadence.therapy.checks import MINUTES_MAX
from cadence.web import vocabulary
from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, add_patient, token_headers, wait_job
from tests.web.test_pages import sign_in

TEMPLATES = Path(__file__).parents[2] / "src" / "cadence" / "web" / "templates"
RAW_KEYS = ("true_peak_dbtp", "in_scale_share", "max_tempo_deviation_bpm", "loudness_lufs",
            "beat_jitter_ms", "undecodable_sequences", "duration_s", "None", "(MIDI pitch)")


def visible_text(html: str) -> str:
    body = html.split("<main", 1)[1]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_words_for_loudness_fades_register_and_sources() -> None:
    assert vocabulary.loudness(-30.0) == "quiet (\u221230 LUFS)"
    assert vocabulary.loudness(-18.0).startswith("moderate")
    assert vocabulary.seconds(4.61019) == "5 s"
    assert vocabulary.note_name(64.0) == "E4" and vocabulary.note_name(60) == "C4"
    cochrane = vocabulary.citation("Cochrane")
    assert cochrane.short.startswith("Cochrane review") and cochrane.url == (
        "https://doi.org/10.1002/14651858.CD010459.pub2"
    )
    assert vocabulary.citation("Rao2021").url == "https://doi.org/10.2147/JMDH.S312725"
    assert vocabulary.citation("PMC8801707").url.endswith("/PMC8801707/")  # type: ignore[union-attr]
    rows = {r.label: r.value for r in vocabulary.prescription_rows(
        Prescription.for_goal("sleep", 2.0, seed=1))}
    assert rows["Tempo"].endswith("BPM") and "quiet (\u221230 LUFS)" in rows["Loudness"]
    assert re.fullmatch(r"in \d+ s, out \d+ s", rows["Fades"])
    assert re.fullmatch(r"[A-G][#b]?\d \u2192 [A-G][#b]?\d", rows["Register"])


def test_adherence_has_a_pass_mark_per_line_and_no_raw_values() -> None:
    p = Prescription.for_goal("sleep", 2.0, seed=1)
    report = {"duration_s": 121.0, "duration_within_one_bar": True,
              "max_tempo_deviation_bpm": 0.2, "in_scale_share": 0.5, "loudness_lufs": -30.4,
              "true_peak_dbtp": None, "max_velocity": 200, "beat_jitter_ms": None,
              "undecodable_sequences": 0}
    checks = {c.label: c for c in vocabulary.adherence_checks(report, p)}
    assert checks["Tempo"].verdict == "Met" and checks["Notes in the key"].verdict == "Not met"
    assert checks["Loudness"].passed is True and checks["Loudest peak"].verdict == "Not measured"
    assert checks["Loudest note (MIDI velocity)"].passed is False
    assert checks["Notes in the key"].measured == "50%"
    for c in checks.values():
        assert "None" not in f"{c.measured} {c.prescribed}" and c.prescribed


def test_job_progress_in_words_in_a_live_region() -> None:
    assert vocabulary.job_progress("queued", "queued", 0, 0, None) == "Waiting in the queue"
    assert vocabulary.job_progress("running", "composing", 120, 436, None) == (
        "Composing bar 120 of 436"
    )
    assert vocabulary.job_progress("failed", "cancelled", 3, 9, "x") == "Cancelled"
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)

    job = SimpleNamespace(id=4, goal="sleep", patient_code="P-1", progress=0.0, error=None,
                          progress_text="Waiting in the queue", links={"self": "/api/v1/jobs/4"})
    html = env.get_template("job.html").render(job=job, user=None)
    live = re.search(r'<p id="job-status"[^>]*>', html)
    assert live and 'aria-live="polite"' in live.group(0)
    assert "Waiting in the queue" in html and "queued" not in html and "0 / 0" not in html


def test_session_page_speaks_a_clinicians_language(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    headers = token_headers(client, "theo")
    code = add_patient(client, headers)
    job = client.post(f"/api/v1/patients/{code}/sessions",
                      json={"goal": "sleep", "minutes": 0.2, "seed": 2}, headers=headers).json()
    done = wait_job(client, headers, job["id"])
    assert done["progress_text"] == "Done"
    sid = done["session_id"]
    sign_in(client, "theo")
    page = client.get(f"/sessions/{sid}")
    assert page.status_code == 200
    text = visible_text(page.text)
    for raw in RAW_KEYS:
        assert raw not in text, raw
    assert "Measured against prescribed" in text and "BPM" in text and "LUFS" in text
    assert re.search(r"\b(Met|Not met|Not measured)\b", text)
    assert "target_lufs" not in page.text and "&#34;" not in page.text  # no raw JSON
    assert 'href="https://doi.org/10.1002/14651858.CD010459.pub2"' in page.text
    assert "1 = not at all, 5 = very much" in text
    assert "Mood (0–100, visual analogue scale)" in text and "mood_vas" not in text
    assert f'href="/api/v1/sessions/{sid}/files/prescription"' in page.text
    assert f'href="/api/v1/sessions/{sid}/files/report"' in page.text
    names = {
        kind: client.get(f"/api/v1/sessions/{sid}/files/{kind}").headers["content-disposition"]
        for kind in ("prescription", "report")
    }
    assert f"session-{sid}-prescription.json" in names["prescription"]
    assert f"session-{sid}-report.json" in names["report"]
    # A failed feedback submit: the summary on top, the error at its field, the text kept.
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(f"/sessions/{sid}/feedback", data={"comment": "half a thought",
                                                       "csrf_token": csrf})
    assert r.status_code == 422
    assert r.text.index('id="error-summary"') < r.text.index('id="feedback-form"')
    field = re.search(r'<fieldset[^>]*id="field-rating"[^>]*>', r.text)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="err-rating"' in field.group(0) and 'id="err-rating"' in r.text
    assert "half a thought" in r.text
    # A good one redirects (POST/redirect/GET): a reload cannot submit it again.
    r = client.post(f"/sessions/{sid}/feedback", data={"rating": "4", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}"


def test_unknown_goal_and_out_of_range_minutes_in_the_forms_words(
    client: TestClient, settings: WebSettings
) -> None:
    add_clinician(settings, "theo", "therapist")
    code = add_patient(client, token_headers(client, "theo"))
    csrf = sign_in(client, "theo")
    r = client.get(f"/patients/{code}/sessions/new?goal=sleeep")
    assert r.status_code == 422 and "There is no goal &#39;sleeep&#39;" in r.text
    r = client.post(f"/patients/{code}/sessions",
                    data={"goal": "dance", "minutes": "10", "csrf_token": csrf})
    assert r.status_code == 422 and "choose one of sleep" in r.text
    r = client.post(f"/patients/{code}/sessions", data={
        "goal": "anxiety", "minutes": "9999", "heart_rate": "70", "csrf_token": csrf,
        "action": "start"})
    assert r.status_code == 422
    assert f"Length must be a number from 0 to {MINUTES_MAX:g} min" in r.text
    assert "got 9999" not in r.text
    field = re.search(r'<input name="minutes"[^>]*>', r.text)
    assert field and 'aria-invalid="true"' in field.group(0) and 'value="9999"' in field.group(0)
    assert 'aria-describedby="err-minutes"' in field.group(0)
    assert re.search(r'<input name="heart_rate"[^>]*value="70"', r.text)  # nothing lost
    assert r.text.index('id="error-summary"') < r.text.index('id="session-form"')
    assert 'href="#field-minutes"' in r.text
    assert client.get("/api/v1/jobs").json() == []


def test_skip_link_is_the_first_focus_stop(client: TestClient) -> None:
    html = client.get("/signin").text
    body = html.split("<body>", 1)[1]
    first = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body)
    assert first and 'href="#content"' in first.group(0) and "Skip to content" in body
    assert '<main id="content"' in html


def test_api_docs_are_self_hosted_under_a_strict_csp(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline' ;" not in csp.split("script-src")[1]
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", r.text, flags=re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # no inline script
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts]  # type: ignore[union-attr]
    links = re.findall(r'<link[^>]*href="([^"]+)"', r.text)
    for url in sources + links:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert any("swagger-ui-bundle.js" in s for s in sources)
    assert "cdn" not in r.text.lower()
