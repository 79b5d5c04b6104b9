"""Where the clinic keeps its database, files and key: ``ClinicConfig.from_env()``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.local/share/cadence")


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

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
