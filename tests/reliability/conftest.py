"""Fixtures for the reliability tests: the web app on SQLite in tmp_path with the three
clinicians every authorization and hostile-input test needs (the tiny model is the one in
tests/conftest.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings
from tests.web.conftest import add_clinician, make_settings, token_headers

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NOTTINGHAM_MIDI = SHARED_DATA / "nottingham" / "midi"
NOTTINGHAM_ABC = SHARED_DATA / "nottingham" / "abc"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CADENCE_* from the developer's shell leaks into the settings under test."""
    for name in list(os.environ):
        if name.startswith("CADENCE_"):
            monkeypatch.delenv(name)


@dataclass(frozen=True)
class Clinic:
    """A running app with an admin (ada), two therapists (theo, olga) and their API tokens."""

    client: TestClient
    settings: WebSettings
    admin: dict[str, str]
    owner: dict[str, str]
    other: dict[str, str]


@pytest.fixture
def web_settings(tmp_path: Path, tiny_model: Path) -> WebSettings:
    return make_settings(tmp_path / "home", tiny_model)


@pytest.fixture
def clinic(web_settings: WebSettings) -> Iterator[Clinic]:
    from cadence.web import create_app

    with TestClient(create_app(web_settings)) as client:
        add_clinician(web_settings, "ada", "admin")
        add_clinician(web_settings, "theo", "therapist")
        add_clinician(web_settings, "olga", "therapist")
        yield Clinic(
            client,
            web_settings,
            admin=token_headers(client, "ada"),
            owner=token_headers(client, "theo"),
            other=token_headers(client, "olga"),
        )


REPORT_DIR = Path(__file__).resolve().parents[2] / "out" / "reliability"


def write_report(name: str, data: dict[str, Any]) -> Path:
    """Keep a run's measured figures in out/reliability/NAME.json (docs/reliability.md quotes
    them)."""
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    return path
