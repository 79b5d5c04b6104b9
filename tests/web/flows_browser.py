"""The therapist's and the patient's flows in Chromium, defined once for the browser suite
(tests/web/test_browser_pages.py) and `make screens` (scripts/screens.py).

`walk(base, viewport, visit)` signs in, creates a patient, records consent and a baseline, starts
a 2-minute session, waits on the job page (a done job's page leads to its session), opens
the session page, rates, records outcomes, opens the report, the audit and clinicians pages
(as the admin) and the API docs, then the patient's listening link: start listening, play,
rate. At each stop it calls `visit(name, page)`; the page is settled (network idle)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORTS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
PASSWORD = "correct horse battery"
THERAPIST, ADMIN = "theo", "ada"
SESSION_MINUTES = 2
# Every stop of the two flows, in order: the names of the checks and of the screenshots.
PAGES = [
    "signin", "patients", "patient", "session-new", "job", "session", "report",
    "audit", "clinicians", "api-docs", "listen", "listen-playing", "listen-rated",
]

Visit = Callable[[str, Any], None]


@contextmanager
def live_server(settings: Any) -> Iterator[str]:
    """The app under uvicorn on a free local port, in a thread; yields its base URL."""
    import socket

    import uvicorn

    from cadence.web import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


def add_clinicians(settings: Any) -> None:
    """The therapist and the admin the flows sign in as, through clinic's own service."""
    from cadence.clinic import accounts
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        for name, role in ((THERAPIST, "therapist"), (ADMIN, "admin")):
            accounts.create_clinician(db, Actor.system(), name, PASSWORD, role)


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle")


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/patients")


def walk(browser: Any, base: str, viewport: int, visit: Visit) -> dict[str, Any]:
    """One walk of both flows at `viewport` px. Returns what it learnt (the listening URL and
    the bytes the patient's audio element loads)."""
    size = VIEWPORTS[viewport]
    found: dict[str, Any] = {}
    ctx = browser.new_context(viewport=size)
    page = ctx.new_page()
    page.set_default_timeout(30_000)

    page.goto(f"{base}/signin")
    _settle(page)
    visit("signin", page)
    _sign_in(page, base, THERAPIST)
    _settle(page)
    visit("patients", page)

    page.fill("#add-patient input[name=name]", f"Ada Park {viewport}")
    page.fill("#add-patient input[name=birth_year]", "1946")
    page.click("#add-patient button[type=submit]")
    page.wait_for_selector("h1 small")
    code = page.locator("h1 small").inner_text().strip()
    page.click("#record-consent")
    page.wait_for_function(
        "() => document.getElementById('consent-state').textContent.trim() === 'given'"
    )
    page.fill("#baseline input[name=resting_heart_rate]", "72")
    page.click("#baseline button[type=submit]")
    page.wait_for_selector("#baseline-now")
    _settle(page)
    visit("patient", page)

    page.goto(f"{base}/patients/{code}/sessions/new?goal=sleep")
    page.fill("#field-minutes", str(SESSION_MINUTES))
    page.fill("#field-seed", "5")
    page.click("#preview")
    page.wait_for_selector("#summary")
    _settle(page)
    visit("session-new", page)

    # The job page polls the job API and leaves for the session page when done; the polls are
    # held back while it is checked, so the check sees the job page and not a navigation.
    page.route("**/api/v1/jobs/**", lambda route: route.abort())
    page.click("#start")
    page.wait_for_url("**/jobs/*")
    job_url = page.url
    _settle(page)
    visit("job", page)
    page.unroute("**/api/v1/jobs/**")
    page.goto(job_url)
    page.wait_for_url("**/sessions/*", timeout=600_000)
    session_url = page.url
    _settle(page)
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete)", timeout=60_000
    )
    visit("session", page)

    page.check("#feedback-form input[name=rating][value='4']")
    page.click("#feedback-form button[type=submit]")
    page.wait_for_selector(".flash")
    for phase, value in (("before", "40"), ("after", "62")):
        page.select_option("#outcome-measure", "mood_vas")
        page.select_option("#outcome-phase", phase)
        page.fill("#outcome-value", value)
        page.click("#outcome-form button[type=submit]")
        page.wait_for_selector(".flash")

    page.goto(f"{base}/patients/{code}/report")
    _settle(page)
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    visit("report", page)

    page.goto(session_url)
    page.click("#make-link")
    found["link"] = page.locator("#link-url").input_value()
    ctx.close()

    admin = browser.new_context(viewport=size)
    page = admin.new_page()
    page.set_default_timeout(30_000)
    _sign_in(page, base, ADMIN)
    for name, path in (("audit", "/audit"), ("clinicians", "/clinicians")):
        page.goto(f"{base}{path}")
        _settle(page)
        visit(name, page)
    page.goto(f"{base}/api/docs")
    _settle(page)
    page.wait_for_timeout(1000)  # Swagger UI renders after its script runs
    visit("api-docs", page)
    admin.close()

    patient_ctx = browser.new_context(viewport=size)
    page = patient_ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(found["link"])
    _settle(page)
    visit("listen", page)
    start = page.get_by_role("button", name="Start listening")
    if start.count():
        start.first.click()
        _settle(page)
    player = page.locator("audio").first
    player.evaluate("a => { a.muted = true; a.preload = 'auto'; return a.play(); }")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.5")
    visit("listen-playing", page)
    src = str(player.evaluate("a => a.currentSrc"))
    whole = page.request.get(src)
    found["audio_url"] = src
    found["audio_bytes"] = len(whole.body())
    found["audio_type"] = whole.headers.get("content-type", "")
    found["audio_duration_s"] = float(player.evaluate("a => a.duration"))
    page.check("form input[name=rating][value='5']")
    page.locator("form button[type=submit]").last.click()
    _settle(page)
    visit("listen-rated", page)
    patient_ctx.close()
    return found
