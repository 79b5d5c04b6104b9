"""Two web workers sharing one PostgreSQL database (the scaled-out set-up): a token issued by
one works on the other, a job submitted to one is followed on the other, and the sign-in rate
limit counts failures across both."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.servers import PostgresServer, postgresql_server  # noqa: F401 (fixture)
from tests.web.conftest import (
    PASSWORD,
    add_clinician,
    add_patient,
    make_settings,
    token_headers,
    wait_job,
)


def test_two_workers_share_one_postgresql_database(
    tmp_path: Path,
    tiny_model: Path,
    postgresql_server: PostgresServer,  # noqa: F811
) -> None:
    from cadence.web import create_app

    url = postgresql_server.create_database("web")
    home = tmp_path / "home"  # the file store both workers see (shared disk)
    one = make_settings(home, tiny_model, database_url=url, login_failures=3)
    two = make_settings(home, tiny_model, database_url=url, login_failures=3)
    with TestClient(create_app(one)) as a, TestClient(create_app(two)) as b:
        add_clinician(one, "theo", "therapist")
        headers = token_headers(a, "theo")
        assert b.get("/api/v1/auth/me", headers=headers).json()["username"] == "theo"
        code = add_patient(b, headers)
        r = a.post(
            f"/api/v1/patients/{code}/sessions",
            json={"goal": "mood", "minutes": 0.2, "seed": 4},
            headers=headers,
        )
        assert r.status_code == 202, r.text
        done = wait_job(b, headers, r.json()["id"])
        assert done["status"] == "done", done["error"]
        wav = b.get(
            f"/api/v1/sessions/{done['session_id']}/files/wav",
            headers={**headers, "Range": "bytes=0-3"},
        )
        assert wav.status_code == 206 and wav.content == b"RIFF"

        wrong = {"username": "theo", "password": "not it"}
        assert a.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        assert b.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        assert a.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        right = {"username": "theo", "password": PASSWORD}
        assert b.post("/api/v1/auth/tokens", json=right).status_code == 429
