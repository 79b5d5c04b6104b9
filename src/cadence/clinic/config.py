"""Where the clinic keeps its database, files and key: ``ClinicConfig.from_env()``."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.local/share/cadence")
# Everything under the home is the operator's alone: the database and its -wal and -shm files
# hold password hashes, preferences, outcomes, audit and jobs (issue 17).
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class ClinicConfig:
    """``home`` holds ``files/`` (the content-addressed store), ``secret.key`` and, by default,
    ``cadence.db``. ``secret_key`` (url-safe base64 of 32 bytes) overrides the key file."""

    home: Path
    database_url: str
    secret_key: str | None = None

    @classmethod
    def from_env(cls) -> ClinicConfig:
        """``CADENCE_HOME`` (default ``~/.local/share/cadence``), ``CADENCE_DATABASE_URL``
        (default ``sqlite:///<home>/cadence.db``), ``CADENCE_SECRET_KEY``."""
        home = Path(os.environ.get("CADENCE_HOME") or DEFAULT_HOME).expanduser()
        url = os.environ.get("CADENCE_DATABASE_URL") or f"sqlite:///{home / 'cadence.db'}"
        return cls(home=home, database_url=url, secret_key=os.environ.get("CADENCE_SECRET_KEY"))

    @classmethod
    def at(cls, home: Path, database_url: str | None = None, secret_key: str | None = None
           ) -> ClinicConfig:
        """A config for ``home`` (tests, tools): SQLite in ``home`` unless a URL is given."""
        home = Path(home).expanduser()
        return cls(
            home=home,
            database_url=database_url or f"sqlite:///{home / 'cadence.db'}",
            secret_key=secret_key,
        )

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    def adapter_dir(self, code: str) -> Path:
        """Where patient ``code``'s fine-tuned adapter lives (``adapter.safetensors`` and
        ``adapter.json``, written by ``cadence finetune``)."""
        return self.home / "adapters" / code

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        from sqlalchemy.engine import make_url

        name = make_url(self.database_url).database
        return Path(name) if name and name != ":memory:" else None


def use_private_umask() -> None:
    """Start-up of a process that writes into the home (the server, a worker, a job process):
    every file and folder it creates from now on is owner-only."""
    os.umask(0o077)


def make_private(config: ClinicConfig) -> None:
    """Make the home owner-only before anything is written: the home and every folder in it
    0700, every file 0600 (also repairing a home an older version left 0755/0644), and the SQLite
    file created 0600 before SQLite opens it, so its -wal and -shm files (which SQLite creates
    with the database file's mode) are 0600 too."""
    home = config.home
    home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    for folder, _dirs, files in os.walk(home):
        _restrict(Path(folder), PRIVATE_DIR)
        for name in files:
            _restrict(Path(folder) / name, PRIVATE_FILE)
    database = config.sqlite_path
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        for side in SQLITE_SIDE_FILES:
            _restrict(Path(f"{database}{side}"), PRIVATE_FILE)


def _restrict(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return
    if stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
