"""Fixtures for the web tests: a tiny model, settings in tmp_path (SQLite), the app and
TestClient, and clinicians created through clinic's own service."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cadence.web.settings import WebSettings

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CADENCE_* from the developer's shell leaks into the settings under test."""
    for name in list(os.environ):
        if name.startswith("CADENCE_"):
            monkeypatch.delenv(name)


def make_settings(home: Path, model: Path, **overrides: Any) -> WebSettings:
    values: dict[str, Any] = {
        "home": home,
        "database_url": f"sqlite:///{home / 'cadence.db'}",
        "model": str(model),
        "job_workers": 1,
        "queue_size": 4,
        "login_failures": 5,
        "login_window_s": 60,
        "allowed_hosts": "testserver,localhost,127.0.0.1",  # TestClient's Host is testserver
    }
    values.update(overrides)
    return WebSettings(**values)


@pytest.fixture
def settings(tmp_path: Path, tiny_model: Path) -> WebSettings:
    return make_settings(tmp_path / "home", tiny_model)


@pytest.fixture
def client(settings: WebSettings) -> Iterator[TestClient]:
    from cadence.web import create_app

    with TestClient(create_app(settings)) as c:
        yield c


def add_clinician(settings: WebSettings, username: str, role: str) -> int:
    from cadence.clinic import accounts
    from cadence.clinic.actors import Actor
    from cadence.web.jobs import open_clinic_for

    with open_clinic_for(settings).session() as db:
        view = accounts.create_clinician(db, Actor.system(), username, PASSWORD, role)
        return int(view.id)


def token_headers(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def admin(client: TestClient, settings: WebSettings) -> dict[str, str]:
    add_clinician(settings, "ada", "admin")
    return token_headers(client, "ada")


@pytest.fixture
def therapist(client: TestClient, settings: WebSettings) -> dict[str, str]:
    add_clinician(settings, "theo", "therapist")
    return token_headers(client, "theo")


@pytest.fixture
def other_therapist(client: TestClient, settings: WebSettings) -> dict[str, str]:
    add_clinician(settings, "olga", "therapist")
    return token_headers(client, "olga")


def add_patient(client: TestClient, headers: dict[str, str], consent: bool = True) -> str:
    r = client.post(
        "/api/v1/patients", json={"name": "Jane Roe", "birth_year": 1950}, headers=headers
    )
    assert r.status_code == 201, r.text
    code = str(r.json()["code"])
    if consent:
        r = client.post(f"/api/v1/patients/{code}/consent", json={"given": True}, headers=headers)
        assert r.status_code == 201, r.text
    return code


def wait_job(
    client: TestClient, headers: dict[str, str], job_id: int, timeout: float = 120.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
