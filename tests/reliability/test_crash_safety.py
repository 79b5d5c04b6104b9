"""Crash safety: `cadence serve` (SQLite, and PostgreSQL) is killed with SIGKILL, workers and
all, while ~100 clinicians' writes and generation jobs are in flight. After a restart:

- the database passes its integrity check (SQLite ``PRAGMA integrity_check``);
- every write the server acknowledged (201/202) is there;
- no job is left queued or running: each interrupted one is marked failed with a reason;
- no orphan files: no job folder of a finished job, no temporary copy in the file store, and
  (after the start-up sweep's grace period) no stored file without a database row.

Also in the default run: the start-up sweep itself, on a folder left as a SIGKILL leaves it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadence.web.jobs import open_clinic_for
from cadence.web.recovery import sweep_orphans
from cadence.web.store import Job
from tests.reliability.conftest import write_report
from tests.reliability.serve import Server, Worker, serve_env
from tests.servers import PostgresServer, postgresql_server  # noqa: F401 (a fixture)
from tests.web.conftest import PASSWORD, add_clinician, make_settings
from tests.web.servers import redis_server

WRITERS = 100
JOBS = 10


async def _load(
    url: str, token: str, acked: dict[str, list[Any]], stop: asyncio.Event, tag: str
) -> None:
    """WRITERS concurrent clinicians adding patients and outcomes, JOBS generation jobs."""
    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=WRITERS + JOBS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:

        async def writer(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    # A therapist's patients get server-assigned codes (issue 17).
                    r = await c.post(
                        "/api/v1/patients", headers=auth, json={"name": f"Crash {tag} {i}-{n}"}
                    )
                    acked["statuses"].append(r.status_code)
                    if r.status_code == 201:
                        code = r.json()["code"]
                        acked["patients"].append(code)
                        r = await c.post(
                            f"/api/v1/patients/{code}/consent",
                            headers=auth,
                            json={"given": True},
                        )
                        if r.status_code == 201:
                            acked["consents"].append(code)
                except httpx.HTTPError as err:  # the server died mid-request: not acknowledged
                    acked["statuses"].append(type(err).__name__)
                    return

        async def job(i: int) -> None:
            try:
                r = await c.post("/api/v1/patients", headers=auth, json={"name": f"Job {tag} {i}"})
                if r.status_code != 201:
                    return
                code = r.json()["code"]
                await c.post(f"/api/v1/patients/{code}/consent", headers=auth, json={"given": True})
                r = await c.post(
                    f"/api/v1/patients/{code}/sessions",
                    headers=auth,
                    json={"goal": "sleep", "minutes": 0.5, "seed": i},
                )
                if r.status_code == 202:
                    acked["jobs"].append(r.json()["id"])
            except httpx.HTTPError:
                return

        await asyncio.gather(*[writer(i) for i in range(WRITERS)], *[job(i) for i in range(JOBS)])


async def _until_a_job_runs(url: str, token: str, timeout: float) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=auth) as c:
        while time.monotonic() < deadline:
            r = await c.get("/api/v1/jobs")
            if r.status_code == 200 and any(j["status"] == "running" for j in r.json()):
                return
            await asyncio.sleep(0.3)


def _crash_once(
    server: Server, token: str, kill_after_s: float, tag: str, worker: Worker | None = None
) -> dict[str, list[Any]]:
    acked: dict[str, list[Any]] = {"patients": [], "consents": [], "jobs": [], "statuses": []}

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(_load(server.url, token, acked, stop, tag))
        await asyncio.sleep(kill_after_s)
        if worker is not None:  # kill the worker while it runs a job (up to 60 s more)
            await _until_a_job_runs(server.url, token, 60.0)
        server.kill()  # SIGKILL to the whole process group, in the middle of the load
        if worker is not None:
            worker.kill()  # and to the RQ worker and its work horse
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    asyncio.run(main())
    return acked


def _files_left(home: Path) -> dict[str, int]:
    jobs = home / "jobs"
    store = home / "files"
    return {
        "job_folders": len([p for p in jobs.iterdir() if p.is_dir()]) if jobs.is_dir() else 0,
        "temp_files": len(list(store.rglob(".incoming-*"))) if store.is_dir() else 0,
    }


def _wait_for_jobs(client: httpx.Client, timeout: float) -> list[dict[str, Any]]:
    """The job list once none is queued or running (RQ workers finish the queued ones after a
    restart), or as it is after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = client.get("/api/v1/jobs").json()
        if time.monotonic() > deadline or all(
            j["status"] not in ("queued", "running") for j in jobs
        ):
            return jobs
        time.sleep(1.0)


def check_crash(
    tmp_path: Path,
    tiny_model: Path,
    database_url: str | None,
    name: str,
    redis_url: str | None = None,
) -> None:
    home = tmp_path / "home"
    # One clinician sends every job here: the per-clinician quota must not thin the load.
    extra = {"job_workers": "2", "queue_size": "32", "jobs_per_clinician": str(JOBS)}
    if database_url:
        extra["database_url"] = database_url
    if redis_url:
        extra["redis_url"] = redis_url
    env = serve_env(home, tiny_model, **extra)
    settings = make_settings(
        home, tiny_model, **({"database_url": database_url} if database_url else {})
    )
    server = Server(env, tmp_path / "serve.log", workers=2).start()
    worker = Worker(env, tmp_path / "worker.log").start() if redis_url else None
    add_clinician(settings, "theo", "therapist")
    r = httpx.post(
        f"{server.url}/api/v1/auth/tokens", json={"username": "theo", "password": PASSWORD}
    )
    token = r.json()["token"]
    rounds = []
    for round_no, kill_after in enumerate((4.0, 8.0)):
        acked = _crash_once(server, token, kill_after, f"R{round_no}", worker)
        left_by_kill = _files_left(home)
        server.start()
        if worker is not None:
            worker.start()
        with httpx.Client(
            base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            missing = [
                code
                for code in acked["patients"]
                if c.get(f"/api/v1/patients/{code}").status_code != 200
            ]
            no_consent = [
                code
                for code in acked["consents"]
                if not c.get(f"/api/v1/patients/{code}").json().get("consent")
            ]
            jobs = _wait_for_jobs(c, 180.0 if worker is not None else 0.0)
        stuck = [j["id"] for j in jobs if j["status"] in ("queued", "running")]
        failed_silently = [j["id"] for j in jobs if j["status"] == "failed" and not j["error"]]
        lost_jobs = sorted(set(acked["jobs"]) - {j["id"] for j in jobs})
        after_restart = _files_left(home)
        rounds.append(
            {
                "kill_after_s": kill_after,
                "acknowledged": {k: len(v) for k, v in acked.items() if k != "statuses"},
                "write_statuses": dict(Counter(str(s) for s in acked["statuses"])),
                "missing_patients": missing,
                "missing_consents": no_consent,
                "jobs": {
                    s: sum(j["status"] == s for j in jobs)
                    for s in ("done", "failed", "queued", "running")
                },
                "stuck_jobs": stuck,
                "failed_without_reason": failed_silently,
                "lost_jobs": lost_jobs,
                "left_by_kill": left_by_kill,
                "after_restart": after_restart,
            }
        )
    server.stop()
    if worker is not None:
        worker.stop()
    integrity = "n/a (PostgreSQL)"
    if database_url is None:
        with sqlite3.connect(home / "cadence.db") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    # The store's unreferenced files: what the sweep removes once they are past its grace.
    clinic = open_clinic_for(settings)
    swept = sweep_orphans(settings, clinic, grace_s=0)
    with clinic.session() as db:
        unfinished = db.query(Job).filter(Job.status.in_(("queued", "running"))).count()
    log = server.output()
    write_report(
        name,
        {
            "rounds": rounds,
            "integrity_check": integrity,
            "sweep_after_grace": swept,
            "tracebacks_in_log": log.count("Traceback"),
        },
    )
    assert integrity in ("ok", "n/a (PostgreSQL)")
    for r in rounds:
        assert sum(r["acknowledged"].values()) > 0, r
        assert not r["missing_patients"] and not r["missing_consents"], r
        assert not r["stuck_jobs"] and not r["failed_without_reason"] and not r["lost_jobs"], r
        assert r["after_restart"] == {"job_folders": 0, "temp_files": 0}, r
    assert unfinished == 0


@pytest.mark.reliability
def test_sigkill_during_writes_and_jobs_sqlite(tmp_path: Path, tiny_model: Path) -> None:
    check_crash(tmp_path, tiny_model, None, "crash_sqlite")


@pytest.mark.reliability
def test_sigkill_during_writes_and_jobs_postgresql(
    tmp_path: Path,
    tiny_model: Path,
    postgresql_server: PostgresServer,  # noqa: F811 (the fixture)
) -> None:
    url = postgresql_server.create_database("crash")
    check_crash(tmp_path, tiny_model, url, "crash_postgresql")


@pytest.mark.reliability
def test_sigkill_during_writes_and_jobs_with_rq_workers(tmp_path: Path, tiny_model: Path) -> None:
    """The server and `cadence worker` (RQ, a real redis-server) killed together: jobs the
    worker had started are marked failed when it restarts; queued ones still run."""
    with redis_server(tmp_path) as url:
        check_crash(tmp_path, tiny_model, None, "crash_rq", redis_url=url)


def test_startup_sweep_removes_what_a_kill_leaves(tmp_path: Path, tiny_model: Path) -> None:
    """A job folder of a failed job, a half-copied temp file and a stored file without a row,
    as SIGKILL leaves them: removed at start-up (files only past the grace period)."""
    from cadence.web import create_app

    settings = make_settings(tmp_path / "home", tiny_model)
    create_app(settings)
    clinic = open_clinic_for(settings)
    with clinic.session() as db:
        job = Job(
            patient_code="P-1",
            goal="sleep",
            params={},
            clinician_id=1,
            username="x",
            role="therapist",
            status="failed",
            error="the server stopped",
        )
        db.add(job)
        db.flush()
        job_id = job.id
    folder = settings.jobs_dir / str(job_id)
    folder.mkdir(parents=True)
    (folder / "session.wav").write_bytes(b"RIFF")
    shard = clinic.files.root / "ab"
    shard.mkdir(parents=True)
    temp = shard / ".incoming-x1"
    orphan = shard / ("ab" + "0" * 62 + ".wav")
    young = shard / ("ab" + "1" * 62 + ".wav")
    for p in (temp, orphan, young):
        p.write_bytes(b"data")
    old = time.time() - 3600
    for p in (temp, orphan):
        os.utime(p, (old, old))
    removed = sweep_orphans(settings, clinic)
    assert removed == {"job_folders": 1, "temp_files": 1, "unreferenced_files": 1}
    assert not folder.exists() and not temp.exists() and not orphan.exists()
    assert young.exists()  # it may belong to a transaction still open elsewhere
