"""Clinic fixtures: every test that takes ``clinic`` runs twice, on an embedded SQLite
database and on a real PostgreSQL server (tests/servers.py; fails without its binaries)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.clinic import accounts, passwords, patients
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import Clinic, make_engine, migrate, open_clinic
from cadence.clinic.views import PatientView
from tests.servers import PostgresServer, postgresql_server  # noqa: F401 (a fixture)

BACKENDS = ["sqlite", "postgresql"]

# Plaintext that must never reach the database or the file store unencrypted.
SECRET_NAME = "Margarethe Quuxley-Zorn"
SECRET_CONTACT = "margarethe.zorn@example.org, +49 30 5550199"
SECRET_NOTES = "Post-stroke hemiparesis; fears crowded corridors (qzx-note)"
SECRET_COMMENT = "It reminded me of my late husband Wolfram (qzx-comment)"


@pytest.fixture(autouse=True, scope="session")
def _cheap_hashing() -> None:
    passwords.use_cheap_hashing()


def random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def clinic_template(postgresql_server: PostgresServer) -> str:  # noqa: F811 (the fixture)
    """A PostgreSQL database migrated to head once, copied for each test (CREATE DATABASE ...
    TEMPLATE): saves running the migrations ~100 times. It holds no key check value, so each
    test's clinic still starts as on a first run."""
    url = postgresql_server.create_database("clinic_template")
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[1]


@pytest.fixture
def config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ClinicConfig:
    """A clinic home in tmp_path; on PostgreSQL, a fresh copy of the migrated template."""
    url = None
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgresql_server")
        url = server.database(request, template=request.getfixturevalue("clinic_template"))
    return ClinicConfig.at(tmp_path / "home", url)


@pytest.fixture
def empty_config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ClinicConfig:
    """Like ``config``, but the database is truly empty (no tables) on both backends."""
    url = None
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgresql_server")
        url = server.database(request)
    return ClinicConfig.at(tmp_path / "home", url)


@pytest.fixture
def clinic(config: ClinicConfig) -> Iterator[Clinic]:
    opened = open_clinic(config)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def system() -> Actor:
    return Actor.system()


def make_therapist(clinic: Clinic, username: str, role: str = "therapist") -> Actor:
    with clinic.session() as db:
        view = accounts.create_clinician(db, Actor.system(), username, "correct horse", role)
    return Actor(clinician_id=view.id, username=view.username, role=view.role)


@pytest.fixture
def therapist(clinic: Clinic) -> Actor:
    return make_therapist(clinic, "tess")


@pytest.fixture
def other_therapist(clinic: Clinic) -> Actor:
    return make_therapist(clinic, "otto")


@pytest.fixture
def admin(clinic: Clinic) -> Actor:
    return make_therapist(clinic, "ada", "admin")


@pytest.fixture
def patient(clinic: Clinic, therapist: Actor) -> PatientView:
    """A patient of ``therapist`` with every secret field set and consent given."""
    with clinic.session() as db:
        view = patients.add_patient(db, therapist, name=SECRET_NAME, birth_year=1948,
                                    contact=SECRET_CONTACT, notes=SECRET_NOTES)
        patients.record_consent(db, therapist, view.code, given=True)
    return view


@pytest.fixture
def session_files(tmp_path: Path) -> dict[str, Path]:
    """Small stand-ins for a session's outputs, with distinct content per test."""
    folder = tmp_path / "out"
    folder.mkdir()
    tag = secrets.token_hex(4)
    files = {
        "mid": folder / "session.mid",
        "wav": folder / "session.wav",
        "report": folder / "report.json",
    }
    files["mid"].write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0" + tag.encode())
    files["wav"].write_bytes(b"RIFF" + bytes(64) + tag.encode())
    files["report"].write_text(json.dumps({"tempo_max_dev_bpm": 0.0, "tag": tag}))
    return files
