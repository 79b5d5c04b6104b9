"""The main flow in a real browser: Playwright drives Debian's Chromium against a real uvicorn
server (SQLite and the tiny model in tmp_path). Sign in, add a patient, record consent, create
a sleep session, wait for it, play it (the <audio> element loads and reports the right
duration, and seeks through Range requests), rate it, record outcomes, open the report, then
the patient's single-use link. Screenshots go to tmp_path (or $SCREENSHOTS_DIR)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.web.settings import WebSettings
from tests.web.conftest import PASSWORD, add_clinician
from tests.web.servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def server(settings: WebSettings) -> Iterator[str]:
    import uvicorn

    from cadence.web import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_main_flow_in_chromium(server: str, settings: WebSettings, screens: Path) -> None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (make setup)")
    from playwright.sync_api import expect, sync_playwright

    add_clinician(settings, "theo", "therapist")
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(30_000)
            failed: list[tuple[str, int]] = []
            page.on(
                "response",
                lambda r: failed.append((r.request.method, r.status)) if r.status >= 400 else None,
            )

            # Sign in.
            page.goto(f"{server}/patients")
            expect(page).to_have_url(f"{server}/signin?next=/patients")
            page.fill("input[name=username]", "theo")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            expect(page).to_have_url(f"{server}/patients")
            page.screenshot(path=screens / "01-patients.png")

            # Add a patient (an inline error first), record consent.
            page.fill("#add-patient input[name=name]", "Ada Park")
            page.fill("#add-patient input[name=birth_year]", "1850")
            # Past the browser's own min/max check, the server's inline error shows.
            page.evaluate("document.getElementById('add-patient').noValidate = true")
            page.click("#add-patient button[type=submit]")
            expect(page.locator('[data-field="birth_year"]')).to_be_visible()
            page.fill("#add-patient input[name=birth_year]", "1946")
            page.click("#add-patient button[type=submit]")
            expect(page.locator("h1")).to_contain_text("Ada Park")
            code = page.locator("h1 small").inner_text()
            page.click("#record-consent")
            expect(page.locator("#consent-state")).to_have_text("given")
            page.screenshot(path=screens / "02-patient.png", full_page=True)

            # A sleep session: the prescription is shown; out-of-bounds values come back inline.
            page.click("#goal-sleep")
            expect(page.locator("#summary")).to_contain_text("20 minutes")
            page.fill("#field-minutes", "0.2")
            page.fill("#field-heart_rate", "300")
            page.evaluate("document.getElementById('session-form').noValidate = true")
            page.click("#preview")
            expect(page.locator('[data-field="heart_rate"]')).to_contain_text(
                "must be a number from 30 to 220 BPM"
            )
            page.fill("#field-heart_rate", "72")
            page.fill("#field-seed", "5")
            page.click("#preview")
            expect(page.locator("#summary")).to_contain_text("0.2 minutes")
            page.screenshot(path=screens / "03-new-session.png", full_page=True)
            page.click("#start")
            expect(page).to_have_url(f"{server}/sessions/1", timeout=120_000)

            # Listen: the audio loads over Range requests and reports the session's duration.
            player = page.locator("#player")
            expect(page.locator("#duration")).not_to_have_text("…")
            duration = float(player.evaluate("a => a.duration"))
            report = page.request.get(f"{server}/api/v1/sessions/1").json()["report"]
            assert abs(duration - report["duration_s"]) < 0.1, (duration, report["duration_s"])
            assert 0.2 * 60 - 2 <= duration <= 0.2 * 60 + 4
            player.evaluate("a => { a.muted = true; a.currentTime = 5; return a.play(); }")
            page.wait_for_function(
                "() => document.getElementById('player').currentTime > 5.2", timeout=15_000
            )
            assert "heart rate 72 BPM" in (page.locator("#prescription").text_content() or "")
            assert page.locator("#score-img").evaluate("i => i.naturalWidth") > 0
            assert page.locator("#plan-img").evaluate("i => i.naturalWidth") > 0
            page.screenshot(path=screens / "04-session.png", full_page=True)

            # Rate it, record outcomes before and after.
            page.check("#feedback-form input[name=rating][value='4']")
            page.click("#feedback-form button[type=submit]")
            expect(page.locator(".flash")).to_have_text("Feedback saved.")
            for phase, value in (("before", "40"), ("after", "62")):
                page.select_option("#outcome-measure", "mood_vas")
                page.select_option("#outcome-phase", phase)
                page.fill("#outcome-value", value)
                page.click("#outcome-form button[type=submit]")
                expect(page.locator(".flash")).to_have_text("Outcome recorded.")

            # The report with its plot.
            page.goto(f"{server}/patients/{code}/report")
            expect(page.locator("#report-table")).to_contain_text("Mood")
            expect(page.locator("#report-table")).to_contain_text(
                "too few sessions to judge (n = 1)"
            )
            expect(page.locator("#report-table")).to_contain_text("+22.00")
            page.wait_for_function("() => document.getElementById('changes-plot').naturalWidth > 0")
            page.wait_for_function("() => document.getElementById('report-plot').naturalWidth > 0")
            page.screenshot(path=screens / "05-report.png", full_page=True)

            # A single-use link: the patient listens and rates in another browser context.
            page.goto(f"{server}/sessions/1")
            page.click("#make-link")
            url = page.locator("#link-url").input_value()
            patient = browser.new_context().new_page()
            patient.goto(url)
            expect(patient.locator("#guidance")).to_be_visible()
            patient.click("#start")
            patient.click("#play")
            expect(patient.locator("#duration")).not_to_have_text("…")
            assert (
                abs(float(patient.locator("#player").evaluate("a => a.duration")) - duration) < 0.1
            )
            patient.check("#rate-form input[name=rating][value='5']")
            patient.click("#rate-form button[type=submit]")
            expect(patient.locator(".flash")).to_contain_text("Thank you")
            patient.screenshot(path=screens / "06-patient-thanks.png")
            patient.goto(url)  # the link keeps working after a rating
            expect(patient.locator("#player")).to_be_visible()
            patient.set_viewport_size({"width": 390, "height": 844})  # a phone
            patient.screenshot(path=screens / "07-patient-390.png", full_page=True)
            assert patient.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"
            ), "the listening page scrolls sideways at 390 px"
            assert patient.locator("#play").bounding_box()["height"] >= 56  # a large control
            # The only failed responses are the two forms sent back with inline errors.
            assert failed == [("POST", 422), ("POST", 422)], failed
        finally:
            browser.close()
    elapsed = time.monotonic() - t0
    assert elapsed < 90, f"the browser flow took {elapsed:.0f} s"
    (screens / "timing.txt").write_text(f"{elapsed:.1f}\n")


def test_api_docs_render_offline_under_the_csp(server: str) -> None:
    """Swagger UI from the app's own assets draws every operation; the CSP blocks nothing."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: problems.append(r.url) if server not in r.url else None)
            page.goto(f"{server}/api/docs")
            expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
            assert page.locator(".opblock").count() > 20
            assert problems == []
        finally:
            browser.close()
