"""Every page of the therapist's and the patient's flows (tests/web/flows_browser.py), in
Debian's Chromium at 1280 px and 390 px: no horizontal scroll, no raw keys or `None` in the
visible text, every form field labelled, no serious or critical axe-core violation, and the
2-minute patient audio under 3 MB. The flows are walked once per module (a 2-minute session per
viewport, tiny model, about a minute in all); each page x viewport x check is its own test."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadence.web.settings import WebSettings
from tests.web.conftest import make_settings
from tests.web.flows_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGES,
    SESSION_MINUTES,
    VIEWPORTS,
    add_clinicians,
    live_server,
    walk,
)

# Engineering vocabulary that must not reach a reader: snake_case keys, Python's None, JSON.
FORBIDDEN = [
    ("a snake_case key", re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")),
    ("Python None", re.compile(r"\bNone\b")),
    ("raw JSON", re.compile(r"\{\"")),
]
# The API docs page documents the API's own field names and JSON; its vocabulary is the API's.
VOCABULARY_EXEMPT = {"api-docs"}
# axe rules a page's third-party part breaks and we cannot fix in our code, each with its reason.
AXE_KNOWN = {
    # Swagger UI puts the path's link inside the operation's button: swagger-api/swagger-ui#9570.
    "api-docs": {"nested-interactive"},
}
AUDIO_LIMIT_BYTES = 3 * 1024 * 1024
CHECKS = ["scroll", "vocabulary", "labels", "axe"]
# The walks take 1 to 4 minutes on 2 shared cores: `make test-slow`; one page stays in `make test`.
SLOW = pytest.mark.slow

UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => {
    if ((e.getAttribute('aria-label') || '').trim()) return false;
    const by = e.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some(id => (document.getElementById(id)?.textContent || '').trim()))
      return false;
    if ([...(e.labels || [])].some(l => l.textContent.trim())) return false;
    if ((e.getAttribute('title') || '').trim()) return false;
    return true;
  })
  .map(e => e.outerHTML.slice(0, 160))"""


def check_page(name: str, page: Any) -> dict[str, list[str]]:
    """What is wrong on the page, per check: an empty list where the check passes."""
    from axe_playwright_python.sync_playwright import Axe

    out: dict[str, list[str]] = {}
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    out["scroll"] = (
        [f"scrollWidth {widths[0]} px > innerWidth {widths[1]} px: "
         + "; ".join(page.evaluate(WIDE_JS))]
        if widths[0] > widths[1] else []
    )
    text = str(page.evaluate("() => document.body.innerText"))
    vocab: list[str] = []
    if name not in VOCABULARY_EXEMPT:
        for what, pattern in FORBIDDEN:
            hits = sorted({m.group(0) for m in pattern.finditer(text)})
            if hits:
                vocab.append(f"{what}: {', '.join(repr(h) for h in hits[:20])}")
    out["vocabulary"] = vocab
    out["labels"] = [f"unlabelled: {html}" for html in page.evaluate(UNLABELLED_JS)]
    results = Axe().run(page)
    out["axe"] = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(f"{' '.join(n['target'])} {n['html'][:90]}" for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical") and v["id"] not in AXE_KNOWN.get(name, set())
    ]
    return out


# The elements wider than the viewport, innermost first, to say what scrolls sideways.
WIDE_JS = """() => [...document.body.querySelectorAll('*')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '')
    + ' ' + Math.round(e.getBoundingClientRect().right) + ' px')"""


class Walked(dict[str, Any]):
    """The walks' findings; a short repr, so a failure shows its own message, not all of it."""

    def __repr__(self) -> str:
        return f"<walks of {len(self['pages'])} pages in {self.get('elapsed_s', 0):.0f} s>"


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[Walked]:
    """Both flows at both viewports, walked once: the checks' findings per (page, viewport),
    the patient audio's measurements, the walks' errors and their run time."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: apt-get install chromium (make setup)")
    home = tmp_path_factory.mktemp("browser-home")
    settings: WebSettings = make_settings(home, tiny_model)
    add_clinicians(settings)
    state = Walked(pages={}, found={}, errors={})
    t0 = time.monotonic()
    with live_server(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for viewport in VIEWPORTS:
                def visit(name: str, page: Any, viewport: int = viewport) -> None:
                    state["pages"][(name, viewport)] = check_page(name, page)

                try:
                    state["found"][viewport] = walk(browser, base, viewport, visit)
                except Exception as e:  # noqa: BLE001 - reported by every check it stopped
                    state["errors"][viewport] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
        finally:
            browser.close()
    state["elapsed_s"] = time.monotonic() - t0
    yield state


def _page_findings(walked: dict[str, Any], name: str, viewport: int) -> dict[str, list[str]]:
    findings = walked["pages"].get((name, viewport))
    if findings is None:
        why = walked["errors"].get(viewport, "the flow did not reach it")
        pytest.fail(f"{name} at {viewport} px was not reached: {why}")
    return dict(findings)


@SLOW
@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", PAGES)
def test_page(walked: dict[str, Any], name: str, viewport: int, check: str) -> None:
    problems = _page_findings(walked, name, viewport)[check]
    assert not problems, f"{name} at {viewport} px, {check}:\n  " + "\n  ".join(problems)


@SLOW
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_patient_audio_under_3_mb(walked: dict[str, Any], viewport: int) -> None:
    found = walked["found"].get(viewport)
    if found is None or "audio_bytes" not in found:
        pytest.fail(f"listen at {viewport} px: {walked['errors'].get(viewport, 'not reached')}")
    assert abs(found["audio_duration_s"] - SESSION_MINUTES * 60) < 10, found
    assert found["audio_bytes"] < AUDIO_LIMIT_BYTES, (
        f"listen at {viewport} px: the audio element loads {found['audio_bytes'] / 1e6:.1f} MB "
        f"({found['audio_type']}) for {found['audio_duration_s']:.0f} s; the limit is 3 MB"
    )


@SLOW
def test_walks_finished(walked: dict[str, Any]) -> None:
    """Both walks reached their end; the run time is printed and bounded."""
    assert not walked["errors"], walked["errors"]
    assert walked["elapsed_s"] < 600, f"the browser flows took {walked['elapsed_s']:.0f} s"


def test_signin_page_passes_every_check_at_390(settings: WebSettings) -> None:
    """The fast representative of the suite, in the default run: the sign-in page at 390 px
    through the same four checks (it has a form, so labels and axe have work to do)."""
    from playwright.sync_api import sync_playwright

    with live_server(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORTS[390])
            page.goto(f"{base}/signin")
            page.wait_for_load_state("networkidle")
            assert page.locator("input[name=username]").count() == 1
            findings = check_page("signin", page)
        finally:
            browser.close()
    assert set(findings) == set(CHECKS)
    problems = [f"{check}: {p}" for check, found in findings.items() for p in found]
    assert not problems, "signin at 390 px:\n  " + "\n  ".join(problems)
