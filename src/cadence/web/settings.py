"""Web settings from the environment (``CADENCE_`` prefix), through pydantic-settings.

- ``CADENCE_HOME`` (``~/.local/share/cadence``): records, files, key file, job folders.
- ``CADENCE_DATABASE_URL`` (``sqlite:///<home>/cadence.db``): SQLAlchemy URL; PostgreSQL as
  ``postgresql+psycopg://user:pass@host/db``.
- ``CADENCE_SECRET_KEY`` (else clinic's ``<home>/secret.key``): the clinic's master key
  (url-safe base64 of 32 bytes); the CSRF key is derived from it (else ``<home>/web.key``).
  Set the same value on every worker that shares the database.
- ``CADENCE_SESSION_COOKIE_SECURE`` (false): send the sign-in cookie over HTTPS only.
- ``CADENCE_SESSION_HOURS`` (12): how long a sign-in lasts.
- ``CADENCE_JOB_WORKERS`` (1): in-process generation threads (unused with Redis).
- ``CADENCE_QUEUE_SIZE`` (8): jobs that may wait; past that a new job gets 503 + Retry-After.
- ``CADENCE_JOBS_PER_CLINICIAN`` (3): unfinished jobs one clinician may have; past that 429.
- ``CADENCE_JOB_MEMORY_MB`` (8192): the address-space limit (RLIMIT_AS) of a job's process.
- ``CADENCE_REDIS_URL`` (unset): run jobs on RQ workers (``cadence worker``) instead.
- ``CADENCE_MODEL`` (the shipped LSTM): checkpoint folder, or ``lstm`` / ``transformer``.
- ``CADENCE_MAX_UPLOAD_MB`` (20): largest favourite-tune upload (over it: 413).
- ``CADENCE_LINK_HOURS`` (72): how long a patient's listening link to one session stays valid.
- ``CADENCE_COURSE_LINK_DAYS`` (35): how long a link to the patient's current course stays valid
  (5 weeks: the longest course in THERAPY.md, sleep's 3 days to 5 weeks and RAS's 5 weeks).
- ``CADENCE_CLINIC_NAME`` (unset): the clinic's name, shown to patients on the listening page.
- ``CADENCE_PUBLIC_URL`` (unset): the address patients reach the app at, e.g.
  ``https://cadence.example.org``; listening links are built from it, never from the request's
  Host header. Its host is also an allowed host.
- ``CADENCE_ALLOWED_HOSTS`` (``localhost,127.0.0.1``): the Host headers the app answers,
  comma-separated (``*.example.org`` for subdomains); any other is 400.
- ``CADENCE_LOGIN_FAILURES`` (5) per ``CADENCE_LOGIN_WINDOW_S`` (60): failed sign-ins per
  username and address before 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".local" / "share" / "cadence"


class WebSettings(BaseSettings):
    """Everything `cadence serve` and `cadence worker` read from the environment."""

    model_config = SettingsConfigDict(env_prefix="CADENCE_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    session_cookie_secure: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    job_workers: int = Field(default=1, ge=1, le=64)
    queue_size: int = Field(default=8, ge=0, le=10_000)
    jobs_per_clinician: int = Field(default=3, ge=1, le=10_000)
    job_memory_mb: int = Field(default=8192, ge=512, le=1024 * 1024)
    redis_url: str | None = None
    model: str | None = None
    max_upload_mb: float = Field(default=20.0, gt=0, le=1024)
    link_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    course_link_days: float = Field(default=35.0, gt=0, le=90)
    clinic_name: str | None = Field(default=None, max_length=120)
    public_url: str | None = None
    allowed_hosts: str = "localhost,127.0.0.1"
    login_failures: int = Field(default=5, ge=1, le=1000)
    login_window_s: int = Field(default=60, ge=1, le=3600)
    job_timeout_s: int = Field(default=3 * 3600, ge=10)
    # How much lower a generation job's CPU priority is than the pages' (os.nice): page and API
    # reads stay quick while a job composes on the same cores (docs/reliability.md, load).
    job_nice: int = Field(default=10, ge=0, le=19)

    @field_validator("home")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
                or parts.fragment:
            raise ValueError(f"got {value!r}; give the app's address, e.g. https://cadence.example.org")
        return value.strip().rstrip("/")

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host headers the app answers: CADENCE_ALLOWED_HOSTS and the public URL's host."""
        hosts = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        if self.public_url is not None:
            host = urlsplit(self.public_url).hostname
            if host and host not in hosts:
                hosts.append(host)
        return hosts

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'cadence.db'}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    def scratch(self, prefix: str) -> tempfile.TemporaryDirectory[str]:
        """A scratch folder for one request (an upload being checked, a report being drawn)
        inside ``<home>/tmp`` (0700), never the shared system temp dir; removed on exit."""
        root = self.home / "tmp"
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return tempfile.TemporaryDirectory(prefix=prefix, dir=root)

    def signing_key(self) -> bytes:
        """The key for CSRF tokens: derived from CADENCE_SECRET_KEY (the clinic's master key, so
        every worker that shares the database agrees), else ``<home>/web.key`` (0600)."""
        if self.secret_key:
            return hmac.new(self.secret_key.encode(), b"cadence-web-csrf", hashlib.sha256).digest()
        path = self.home / "web.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another worker made it first
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
