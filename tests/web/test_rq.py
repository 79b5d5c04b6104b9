"""Jobs on Redis: the API enqueues, `cadence worker --burst` (RQ, a real redis-server) runs
the same job function, and the job row in the shared database reports the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import add_clinician, add_patient, make_settings, token_headers
from tests.web.servers import redis_server


def test_rq_worker_runs_the_job(tmp_path: Path, tiny_model: Path) -> None:
    from cadence.web import create_app

    home = tmp_path / "home"
    with redis_server(tmp_path) as url:
        settings = make_settings(home, tiny_model, redis_url=url, queue_size=2)
        with TestClient(create_app(settings)) as client:
            add_clinician(settings, "theo", "therapist")
            headers = token_headers(client, "theo")
            code = add_patient(client, headers)
            r = client.post(
                f"/api/v1/patients/{code}/sessions",
                json={"goal": "gait", "minutes": 0.2, "cadence_spm": 96, "seed": 3},
                headers=headers,
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["status"] == (
                "queued"
            )
            env = {
                **os.environ,
                "CADENCE_HOME": str(home),
                "CADENCE_DATABASE_URL": settings.resolved_database_url,
                "CADENCE_REDIS_URL": url,
                "CADENCE_MODEL": str(tiny_model),
            }
            proc = subprocess.run(
                [sys.executable, "-m", "cadence", "worker", "--burst"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
            assert job["status"] == "done", (job, proc.stderr[-2000:])
            session = client.get(f"/api/v1/sessions/{job['session_id']}", headers=headers).json()
            assert session["goal"] == "gait" and "wav" in session["files"]
            assert session["report"]["beat_jitter_ms"] == 0.0

            # A full Redis queue answers 503 and saves no job.
            for _ in range(2):
                r = client.post(
                    f"/api/v1/patients/{code}/sessions",
                    json={"goal": "sleep", "minutes": 0.2},
                    headers=headers,
                )
                assert r.status_code == 202
            r = client.post(
                f"/api/v1/patients/{code}/sessions",
                json={"goal": "sleep", "minutes": 0.2},
                headers=headers,
            )
            assert r.status_code == 503 and "retry-after" in r.headers
            assert len(client.get("/api/v1/jobs", headers=headers).json()) == 3


def test_worker_without_redis_url_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env["CADENCE_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "cadence", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "CADENCE_REDIS_URL" in proc.stderr and "Traceback" not in proc.stderr
