"""Generation jobs: never on the request thread.

``run_job(job_id)`` is THE job function: it reads the job row, plans the session with
``clinic.planning.plan_for_patient`` (as the CLI does), composes it with
:func:`cadence.therapy.session.run_session`, stores the result (``record_planned``, with its
variant) and the job's end state in one transaction, and reports progress to the row as it
goes. Two runners call it:

- :class:`LocalRunner` (the default): a bounded number of slots (``job_workers`` running +
  ``queue_size`` waiting) in the web process; each running job is a child process at a lower
  CPU priority (``job_nice``), so the model never holds the web process's GIL and the pages
  stay quick. When all slots are taken a new job is refused with :class:`QueueFull` (503 with
  Retry-After), before anything is saved.
- :class:`RQRunner` (``CADENCE_REDIS_URL`` set): enqueues ``run_job`` on Redis for
  ``cadence worker`` processes (RQ), which read the same settings from the environment.

Job state lives in the database (``web_jobs``), so any web worker can answer for any job.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import update

from cadence.errors import CadenceError
from cadence.web.recovery import (
    fail_lost_rq_jobs,
    fail_orphans,
    fail_unfinished,
    rq_job_id,
)
from cadence.web.settings import WebSettings
from cadence.web.store import Job, create_tables, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

    from cadence.clinic.db import Clinic

log = logging.getLogger(__name__)

RQ_QUEUE = "cadence"
PROGRESS_EVERY_S = 0.5
# The share of a job's time spent composing; rendering, measuring and saving take the rest.
COMPOSE_SHARE = 0.8
# Every session keeps its WAV for clinicians and an Opus rendition patients stream on phones.
SESSION_AUDIO = ("wav", "opus")


class QueueFull(Exception):
    """No free slot for another job; try again after ``retry_after`` seconds (503)."""

    status = 503

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or f"the job queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


class QuotaReached(QueueFull):
    """This clinician has as many unfinished jobs as one may (429): one clinician never fills
    the queue that everyone shares."""

    status = 429


class JobCancelled(Exception):
    """The job's row was cancelled while it ran: stop composing."""


# An absolute path in an error text (a stored file's, a job folder's): shown by its name only.
_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/]+/)+([^\s'\"/]*)")


def public_error(text: str) -> str:
    """An error text for the job row (which clients read): absolute server paths cut to their
    last part (``/home/x/files/ab/ab12….mid`` -> ``ab12….mid``)."""
    return _PATH.sub(lambda m: m.group(1) or "a folder", text)[:2000]


class Runner(Protocol):
    name: str
    retry_after: int

    def reserve(self) -> None:
        """Take a slot for a job about to be saved, or raise QueueFull."""

    def release(self) -> None:
        """Give back a reserved slot that was not submitted."""

    def cancel(self, job_id: int) -> None:
        """Stop job ``job_id`` if it runs here (its row is already marked cancelled)."""

    def submit(self, job_id: int) -> None:
        """Start the saved (committed) job whose slot was reserved."""

    def fail_lost(self, clinic: Clinic) -> int:
        """Mark failed the jobs a stopped process left unfinished; how many."""

    def close(self) -> None: ...


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def open_clinic_for(settings: WebSettings) -> Clinic:
    """The clinic for these settings, opened (and migrated) once per process."""
    return _open_clinic(str(settings.home), settings.resolved_database_url, settings.secret_key)


@lru_cache(maxsize=8)
def _open_clinic(home: str, database_url: str, secret_key: str | None) -> Clinic:
    from cadence.clinic.config import ClinicConfig
    from cadence.clinic.db import open_clinic

    config = ClinicConfig(home=Path(home), database_url=database_url, secret_key=secret_key)
    clinic = open_clinic(config)
    create_tables(clinic.engine)
    return clinic


def _set(clinic: Clinic, job_id: int, **values: Any) -> None:
    """Write to a running job's row; JobCancelled when it is no longer running (cancelled)."""
    with clinic.session() as db:
        done = db.execute(
            update(Job).where(Job.id == job_id, Job.status == "running").values(**values)
        )
        if not cast("CursorResult[Any]", done).rowcount:
            raise JobCancelled(f"job {job_id} was cancelled")


class _Progress:
    """on_bar callback: writes progress to the job row at most every PROGRESS_EVERY_S."""

    def __init__(self, clinic: Clinic, job_id: int) -> None:
        self.clinic, self.job_id, self.last = clinic, job_id, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        share = COMPOSE_SHARE * done / total if total else 0.0
        stage = "composing" if done < total else "rendering"
        _set(
            self.clinic, self.job_id, bars_done=done, bars_total=total, progress=share, stage=stage
        )


def _verovio_in_this_thread() -> None:
    """Verovio keeps its default resource path (the fonts) per thread, set only in the thread
    that imported it; in any other thread it points at the wheel's build folder and every score
    fails to load ("Leipzig font could not be loaded"). Job threads set it themselves.
    (render/score.py could pass it to each toolkit; reported to its owner.)"""
    import verovio

    data = Path(verovio.__file__).parent / "data"
    if data.is_dir():
        verovio.setDefaultResourcePath(str(data))


def run_job(job_id: int, settings: WebSettings | None = None) -> None:
    """Run one queued job to its end (done or failed). Safe to call twice: a job that is not
    queued any more is left alone."""
    from cadence.clinic.actors import Actor
    from cadence.clinic.planning import plan_for_patient, record_planned
    from cadence.therapy.request import SessionRequest
    from cadence.therapy.session import run_session

    settings = settings or WebSettings()
    clinic = open_clinic_for(settings)
    with clinic.session() as db:
        claim = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", stage="composing", started_at=utcnow(), worker=this_process())
        )
        claimed = cast("CursorResult[Any]", claim).rowcount
        job = db.get(Job, job_id)
        if not claimed or job is None:
            log.warning("job %s is not queued; skipped", job_id)
            return
        # params: SessionRequest.to_values() (older rows: the inputs, with sampling apart)
        values = {"goal": job.goal, **dict(job.params), **dict(job.sampling or {})}
        code = job.patient_code
        actor = Actor(clinician_id=job.clinician_id, username=job.username, role=job.role)
        favourite_id = job.favourite_id

    out = settings.jobs_dir / str(job_id)
    finished = False
    try:
        _verovio_in_this_thread()
        primer = _primer_path(clinic, actor, code, favourite_id)
        request = SessionRequest.from_values(
            values, primer=primer, patient=code, model=settings.model,
            formats=SESSION_AUDIO,
        )
        with clinic.session() as db:
            plan = plan_for_patient(db, actor, clinic.config, request)
        result = run_session(plan, out, on_bar=_Progress(clinic, job_id))
        _set(clinic, job_id, stage="saving", progress=0.95)
        with clinic.session() as db:
            view = record_planned(db, actor, plan, result)
            saved = db.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(
                    status="done",
                    stage="done",
                    progress=1.0,
                    session_id=view.id,
                    finished_at=utcnow(),
                )
            )
            if not cast("CursorResult[Any]", saved).rowcount:  # cancelled at the last moment
                raise JobCancelled(f"job {job_id} was cancelled")
        finished = True
    except JobCancelled:
        log.info("job %s cancelled", job_id)
        finished = True
    except CadenceError as err:
        fail_unfinished(clinic, job_id, public_error(str(err)))
        finished = True
    except MemoryError:
        fail_unfinished(clinic, job_id, "the job needed more memory than a job may use "
                        f"({settings.job_memory_mb} MB); a favourite tune too large once "
                        "unpacked, or too long a session")
        finished = True
    finally:
        if not finished:
            log.error("job %s failed unexpectedly", job_id)
            fail_unfinished(clinic, job_id, "internal error; the server log has the details")
        shutil.rmtree(out, ignore_errors=True)


def _primer_path(clinic: Clinic, actor: Any, code: str, favourite_id: int | None) -> Path | None:
    """The stored file of the patient's favourite tune ``favourite_id`` (checked when the job
    was asked for; checked again here, as the tune may have gone since)."""
    if favourite_id is None:
        return None
    from cadence.clinic.patients import get_favourite

    with clinic.session() as db:
        return Path(get_favourite(db, actor, code, favourite_id).path)


# Job processes are forked from a forkserver: never from a web process with live threads.
_CONTEXT = multiprocessing.get_context("forkserver")
# The running job processes of this web process, by job id (LocalRunner.close stops them).
_CHILDREN: dict[int, Any] = {}
_CHILDREN_LOCK = threading.Lock()


def run_job_in_child(job_id: int, settings: WebSettings) -> None:
    """Run :func:`run_job` in a child process at the settings' lower CPU priority and wait
    for it. A child that dies without finishing its job (killed, out of memory) leaves the job
    failed with its exit code."""
    child = _CONTEXT.Process(
        target=_job_process, args=(job_id, settings), name=f"cadence-job-{job_id}"
    )
    child.start()
    with _CHILDREN_LOCK:
        _CHILDREN[job_id] = child
    try:
        child.join()
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.pop(job_id, None)
    if child.exitcode != 0:
        log.error("job %s: its process ended with exit code %s", job_id, child.exitcode)
        fail_unfinished(
            open_clinic_for(settings), job_id, f"the job's process stopped ({child.exitcode})"
        )
        # A killed (or cancelled) job never reached its own clean-up: its folder may hold the
        # patient's audio.
        shutil.rmtree(settings.jobs_dir / str(job_id), ignore_errors=True)



def _job_process(job_id: int, settings: WebSettings) -> None:
    import resource

    from cadence.clinic.config import use_private_umask

    use_private_umask()  # the job's scratch files under CADENCE_HOME are owner-only
    os.nice(settings.job_nice)
    # A bounded address space: a file that unpacks to far more than it weighs (or any runaway)
    # ends in MemoryError, reported on the job, instead of growing until the machine swaps.
    limit = settings.job_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    run_job(job_id, settings)


class LocalRunner:
    """Bounded slots in this process; each running job in a child process
    (:func:`run_job_in_child`)."""

    name = "local"

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.retry_after = 30
        self._pool = ThreadPoolExecutor(
            max_workers=settings.job_workers, thread_name_prefix="cadence-job"
        )
        self._slots = threading.BoundedSemaphore(settings.job_workers + settings.queue_size)

    def reserve(self) -> None:
        if not self._slots.acquire(blocking=False):
            raise QueueFull(self.retry_after)

    def release(self) -> None:
        self._slots.release()

    def submit(self, job_id: int) -> None:
        future = self._pool.submit(run_job_in_child, job_id, self.settings)
        future.add_done_callback(self._done)

    def cancel(self, job_id: int) -> None:
        """Terminate the job's process when this web process runs it (in another, the job stops
        at its next progress write, finding its row cancelled)."""
        with _CHILDREN_LOCK:
            child = _CHILDREN.get(job_id)
        if child is not None:
            child.terminate()

    def fail_lost(self, clinic: Clinic) -> int:
        return fail_orphans(clinic)

    def _done(self, future: Future[None]) -> None:
        self._slots.release()
        err = future.exception()
        if err is not None:
            log.error("job crashed: %r", err, exc_info=err)

    def close(self) -> None:
        """Stop: running jobs' processes are terminated and their jobs marked failed."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with _CHILDREN_LOCK:
            running = list(_CHILDREN.items())
        for job_id, child in running:
            child.terminate()
            child.join(10)
            fail_unfinished(
                open_clinic_for(self.settings),
                job_id,
                "the server stopped before the job finished; start it again",
            )


class RQRunner:
    """Jobs on Redis for `cadence worker` processes; the queue length is bounded too."""

    name = "rq"

    def __init__(self, settings: WebSettings) -> None:
        from redis import Redis
        from rq import Queue

        assert settings.redis_url is not None
        self.settings = settings
        self.redis = Redis.from_url(settings.redis_url)
        self.queue = Queue(RQ_QUEUE, connection=self.redis)
        self.retry_after = 30

    def reserve(self) -> None:
        from redis.exceptions import RedisError

        try:
            waiting = self.queue.count
        except RedisError as err:
            log.error("Redis is unreachable: %s", err)
            raise QueueFull(self.retry_after) from err
        if waiting >= self.settings.queue_size:
            raise QueueFull(self.retry_after)

    def release(self) -> None:
        return None

    def cancel(self, job_id: int) -> None:
        """A waiting RQ job is cancelled; a running one is stopped (its work horse killed)."""
        from redis.exceptions import RedisError
        from rq.command import send_stop_job_command
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job as RQJob

        try:
            job = RQJob.fetch(rq_job_id(job_id), connection=self.redis)
            if job.get_status() == "started":
                send_stop_job_command(self.redis, job.id)
            else:
                job.cancel()
        except (NoSuchJobError, InvalidJobOperation) as err:
            log.info("job %s: nothing to stop on Redis (%s)", job_id, err)
        except RedisError as err:
            log.error("job %s: Redis unreachable, the job stops at its next step: %s", job_id, err)

    def submit(self, job_id: int) -> None:
        from redis.exceptions import RedisError
        from rq import Callback

        try:
            self._enqueue(job_id, Callback(rq_job_failed))
        except RedisError as err:
            log.error("could not enqueue job %s: %s", job_id, err)
            raise QueueFull(self.retry_after) from err

    def fail_lost(self, clinic: Clinic) -> int:
        from redis.exceptions import RedisError

        try:
            return fail_lost_rq_jobs(clinic, self.redis)
        except RedisError as err:
            log.error("Redis is unreachable; lost jobs not checked: %s", err)
            return 0

    def _enqueue(self, job_id: int, on_failure: Any) -> None:
        self.queue.enqueue_call(
            "cadence.web.jobs.run_job",
            args=(job_id,),
            job_id=rq_job_id(job_id),
            timeout=self.settings.job_timeout_s,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"cadence job {job_id}",
            on_failure=on_failure,
        )

    def close(self) -> None:
        self.redis.close()


def rq_job_failed(job: Any, connection: Any, exc_type: Any, value: Any, traceback: Any) -> None:
    """RQ's failure callback (a timeout or a killed work horse): the row says failed."""
    fail_unfinished(
        open_clinic_for(WebSettings()),
        int(job.args[0]),
        f"the worker stopped the job ({getattr(exc_type, '__name__', exc_type)})",
    )


def make_runner(settings: WebSettings) -> Runner:
    return RQRunner(settings) if settings.redis_url else LocalRunner(settings)
