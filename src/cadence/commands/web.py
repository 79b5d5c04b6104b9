"""`cadence serve` (the web app and REST API) and `cadence worker` (RQ generation worker).

Both read their settings from the ``CADENCE_`` environment (see :mod:`cadence.web.settings`).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import typer

from cadence.errors import CadenceError

if TYPE_CHECKING:  # the web extra is optional: import it only when a command runs
    from cadence.web.settings import WebSettings

log = logging.getLogger(__name__)


def app_from_env() -> object:
    """The app factory uvicorn calls in each worker process."""
    from cadence.web import create_app

    return create_app()


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", help="Web worker processes."),
    proxy_headers: bool = typer.Option(
        False, "--proxy-headers", help="Trust X-Forwarded-* from a reverse proxy (TLS)."
    ),
) -> None:
    """Run the web app and REST API (docs at /api/docs)."""
    import uvicorn

    from cadence.clinic.config import use_private_umask
    from cadence.web.jobs import open_clinic_for

    use_private_umask()  # every file the server writes under CADENCE_HOME is owner-only
    if not 1 <= port <= 65535:
        raise CadenceError(f"--port: got {port}; must be 1-65535")
    if workers < 1:
        raise CadenceError(f"--workers: got {workers}; must be at least 1")
    settings = _settings()
    # Migrate once here, so several workers never race to create the schema.
    open_clinic_for(settings).engine.dispose()
    log.info("database %s, home %s", _safe_url(settings.resolved_database_url), settings.home)
    if host not in ("127.0.0.1", "localhost", "::1") and settings.public_url is None \
            and "CADENCE_ALLOWED_HOSTS" not in os.environ:
        typer.echo(f"note: only Host headers {settings.allowed_hosts} are answered; set "
                   "CADENCE_PUBLIC_URL (or CADENCE_ALLOWED_HOSTS) to the names clients use",
                   err=True)
    uvicorn.run(
        "cadence.commands.web:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        log_level="info",
    )


def worker(
    burst: bool = typer.Option(False, "--burst", help="Stop when the queue is empty."),
) -> None:
    """Run generation jobs from Redis (CADENCE_REDIS_URL) with RQ."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    from cadence.clinic.config import use_private_umask
    from cadence.web.jobs import RQ_QUEUE, _open_clinic, open_clinic_for
    from cadence.web.recovery import fail_lost_rq_jobs, sweep_orphans

    use_private_umask()  # job outputs under CADENCE_HOME are owner-only
    settings = _settings()
    if not settings.redis_url:
        raise CadenceError("set CADENCE_REDIS_URL (e.g. redis://localhost:6379/0) to run a worker")
    connection = Redis.from_url(settings.redis_url)
    try:
        connection.ping()
    except RedisError as err:
        raise CadenceError(f"Redis at {settings.redis_url} is unreachable ({err})") from None
    os.nice(settings.job_nice)  # beside a web server on the same cores, pages come first
    clinic = open_clinic_for(settings)  # migrates and creates the web tables once
    lost = fail_lost_rq_jobs(clinic, connection)
    if lost:
        typer.echo(f"{lost} jobs of a stopped worker marked failed", err=True)
    swept = sweep_orphans(settings, clinic)  # what a killed worker left on disk
    if any(swept.values()):
        typer.echo(f"removed after an unclean stop: {swept}", err=True)
    # each job opens its own connections after RQ forks its work horse
    clinic.engine.dispose()
    _open_clinic.cache_clear()
    rq_worker = Worker([Queue(RQ_QUEUE, connection=connection)], connection=connection)
    rq_worker.work(burst=burst, logging_level="INFO")


def _settings() -> WebSettings:
    from pydantic import ValidationError

    from cadence.web.settings import WebSettings

    try:
        return WebSettings()
    except ValidationError as err:
        first = err.errors()[0]
        name = "CADENCE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise CadenceError(f"{name}: {first['msg']}") from None


def _safe_url(url: str) -> str:
    """The database URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
