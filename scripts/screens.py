"""`make screens`: walk the therapist's and the patient's flows (tests/web/flows_browser.py) in
Debian's Chromium at 1280 px and 390 px against the app on a throwaway home, and write one
full-page PNG per page and viewport to out/screens/ (patients-1280.png, patients-390.png, ...).

    python scripts/screens.py [--out out/screens] [--model PATH]

Without --model the app composes with its shipped model (slower than the tests' tiny one)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.web.flows_browser, shared with the browser suite


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright
    from tests.web.flows_browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        VIEWPORTS,
        add_clinicians,
        live_server,
        walk,
    )

    from cadence.web.settings import WebSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "screens")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: shipped)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: Chromium is not at {CHROMIUM}: apt-get install chromium (make setup)")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cadence-screens-") as tmp:
        home = Path(tmp) / "home"
        settings = WebSettings(
            home=home,
            database_url=f"sqlite:///{home / 'cadence.db'}",
            model=args.model,
            job_workers=1,
            allowed_hosts="localhost,127.0.0.1",
        )
        add_clinicians(settings)
        with live_server(settings) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for viewport in VIEWPORTS:
                    def shoot(name: str, page: Any, viewport: int = viewport) -> None:
                        path = args.out / f"{name}-{viewport}.png"
                        page.screenshot(path=path, full_page=True)
                        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)

                    walk(browser, base, viewport, shoot)
            finally:
                browser.close()
    print(f"screens written to {args.out} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
