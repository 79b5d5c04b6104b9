"""What a stopped process leaves behind, found and cleared when a server or worker starts.

A SIGKILL (or a crash, or an out-of-memory kill) can stop a web process, a job's process or an
RQ worker mid-job. Their jobs would then stay queued or running for ever, and their folders and
half-copied files would stay on disk. ``cadence serve`` and ``cadence worker`` call these at
start-up (tests/reliability kills both to check them): jobs that will never finish are marked
failed with a reason, and orphan files are removed.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from cadence.web.settings import WebSettings
from cadence.web.store import Job, utcnow

if TYPE_CHECKING:
    from cadence.clinic.db import Clinic


# The states of a job that has not finished.
UNFINISHED = ("queued", "running")


def fail_orphans(clinic: Clinic) -> int:
    """Jobs this host's in-process runner had queued or running, in processes that are gone
    (a restarted server): mark them failed so nobody waits for them. Returns how many."""
    n = 0
    with clinic.session() as db:
        rows = db.scalars(
            select(Job).where(Job.runner == "local", Job.status.in_(UNFINISHED))
        ).all()
        for job in rows:
            if not _process_gone(job.worker):
                continue
            job.status, job.stage = "failed", "failed"
            job.error = "the server stopped before the job finished; start it again"
            job.finished_at = utcnow()
            n += 1
    return n


# A stored file younger than this may belong to a transaction another worker has not committed
# yet; only older files without a database row are orphans.
ORPHAN_GRACE_S = 120.0


def sweep_orphans(
    settings: WebSettings, clinic: Clinic, *, grace_s: float = ORPHAN_GRACE_S
) -> dict[str, int]:
    """What a killed process leaves on disk, removed at start-up (tests/reliability kills
    `cadence serve` with SIGKILL mid-job to find it):

    - job folders (``<home>/jobs/<id>``) of jobs that are no longer queued or running;
    - ``.incoming-*`` temporary copies in the file store, scratch folders of requests
      (``<home>/tmp``), and stored files no database row points at (a transaction that never
      committed), all older than ``grace_s``.

    Returns how many of each were removed.
    """
    from cadence.clinic.models import StoredFile

    removed = {"job_folders": 0, "temp_files": 0, "unreferenced_files": 0}
    with clinic.session() as db:
        live = {str(i) for i in db.scalars(select(Job.id).where(Job.status.in_(UNFINISHED)))}
        known = {f"{sha}{suffix}" for sha, suffix in db.execute(
            select(StoredFile.sha256, StoredFile.suffix))}  # fmt: skip
    if settings.jobs_dir.is_dir():
        for folder in settings.jobs_dir.iterdir():
            if folder.is_dir() and folder.name.isdigit() and folder.name not in live:
                shutil.rmtree(folder, ignore_errors=True)
                removed["job_folders"] += 1
    cutoff = time.time() - grace_s
    scratch = settings.home / "tmp"  # WebSettings.scratch: uploads and reports mid-request
    if scratch.is_dir():
        for folder in scratch.iterdir():
            try:
                stale = folder.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
                removed["temp_files"] += 1
    for path in clinic.files.all_files():
        try:
            old = path.stat().st_mtime < cutoff
        except FileNotFoundError:  # removed meanwhile by its own transaction
            continue
        if not old:
            continue
        kind = "temp_files" if path.name.startswith(".incoming-") else "unreferenced_files"
        if kind == "temp_files" or path.name not in known:
            path.unlink(missing_ok=True)
            removed[kind] += 1
    return removed


def _process_gone(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid``, as a job records the process that claimed it) is a
    process on this host that is no longer alive."""
    where, _, pid = (worker or "").rpartition(":")
    return where == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_unfinished(clinic: Clinic, job_id: int, error: str) -> None:
    """Mark job ``job_id`` failed with ``error``, unless it has finished already."""
    with clinic.session() as db:
        db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(UNFINISHED))
            .values(status="failed", stage="failed", error=error, finished_at=utcnow())
        )


def rq_job_id(job_id: int) -> str:
    """The RQ job id of the job row ``job_id``."""
    return f"cadence-{job_id}"


def fail_lost_rq_jobs(clinic: Clinic, connection: Any) -> int:
    """Jobs on Redis that will never finish, marked failed so nobody waits for them: the RQ
    job is gone (Redis restarted without its data), RQ has it as failed or stopped, or it was
    started by a work horse on this host that is no longer alive (``cadence worker`` killed
    with SIGKILL, its horse too; tests/reliability). Run when a worker or server starts.
    Returns how many."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus

    ended = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
    with clinic.session() as db:
        rows = db.execute(
            select(Job.id, Job.status, Job.worker).where(
                Job.runner == "rq", Job.status.in_(UNFINISHED)
            )
        ).all()
    lost: dict[int, str] = {}  # Redis is asked outside the database transaction
    for job_id, status, worker in rows:
        try:
            rq_status = RQJob.fetch(rq_job_id(job_id), connection=connection).get_status()
        except NoSuchJobError:
            lost[job_id] = "the job was lost from the queue (Redis restarted?); start it again"
            continue
        if rq_status in ended:
            lost[job_id] = "the worker stopped the job; start it again"
        elif status == "running" and _process_gone(worker):
            lost[job_id] = "the worker stopped before the job finished; start it again"
    for job_id, error in lost.items():
        fail_unfinished(clinic, job_id, error)
    return len(lost)
