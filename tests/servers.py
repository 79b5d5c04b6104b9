"""Real servers for tests: a throw-away PostgreSQL 15 cluster on a free local port.

``postgresql_server`` (session scope) runs ``initdb`` in a temp folder and ``pg_ctl start`` on
127.0.0.1 with its socket in that folder, and stops and deletes it at the end of the session.
PostgreSQL refuses to run as root, so as root the folder belongs to the ``postgres`` user and
every server command runs through ``runuser -u postgres --``.

When the server binaries are missing, tests that need the server FAIL (they do not skip): CI
installs them with ``make test`` (the Makefile's APT_PACKAGES has ``postgresql``).

Use it from a conftest: ``from tests.servers import postgresql_server  # noqa: F401`` and ask
``postgresql_server.database(request)`` for a fresh, empty database URL, dropped after the
test (or ``create_database()`` / ``drop_database(url)`` to manage it yourself).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_VERSIONS = ("15", "16", "17")
MISSING = (
    "PostgreSQL server binaries not found (looked for initdb and pg_ctl in "
    "/usr/lib/postgresql/{15,16,17}/bin and $CADENCE_PG_BIN); install them with "
    "`apt-get install -y postgresql` (or run `make test`, which does)"
)


def find_pg_bin() -> Path | None:
    """The folder with initdb, pg_ctl and postgres: $CADENCE_PG_BIN, else Debian's layout."""
    candidates = []
    if os.environ.get("CADENCE_PG_BIN"):
        candidates.append(Path(os.environ["CADENCE_PG_BIN"]))
    candidates += [Path(f"/usr/lib/postgresql/{v}/bin") for v in PG_VERSIONS]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running cluster: superuser ``postgres``, trust authentication, 127.0.0.1:``port``."""

    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int
    as_postgres: list[str]
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True, text=True, check=True, timeout=60,
        )
        return result.stdout

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser on ``postgres``, outside a transaction."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, prefix: str = "test", template: str | None = None) -> str:
        """A new database (empty, or a copy of ``template``); returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (closing its connections)."""
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def database(self, request: pytest.FixtureRequest, prefix: str = "test",
                 template: str | None = None) -> str:
        """A fresh database for one test (a copy of ``template`` if given), dropped when the
        test ends."""
        url = self.create_database(prefix, template)
        request.addfinalizer(lambda: self.drop_database(url))
        return url

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m",
             "immediate", "-w", "stop"],
            capture_output=True, check=False, timeout=60,
        )


def start_postgres() -> tuple[PostgresServer, Path]:
    """initdb + pg_ctl start; returns the server and the temp folder to delete afterwards."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail(MISSING, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="cadence-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail("PostgreSQL refuses to run as root and there is no `postgres` user to "
                        "run it as; install the postgresql package (it creates the user)",
                        pytrace=False)
        root.chmod(0o700)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, sockets = root / "data", root / "sock"
    for folder in (data, sockets):
        subprocess.run([*as_postgres, "mkdir", "-m", "700", str(folder)], check=True)
    port = free_port()
    run = {"capture_output": True, "text": True, "timeout": 120}
    init = subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
         "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], **run,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr.strip()[-500:]}", pytrace=False)
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = subprocess.run(
        [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(root / "server.log"), "-w", "-t", "60", "start"], **run,
    )
    server = PostgresServer(bin_dir, data, sockets, port, as_postgres)
    if start.returncode != 0:
        log = (root / "server.log").read_text(errors="replace")[-800:] if (
            root / "server.log").exists() else ""
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {start.stderr.strip()} {log}", pytrace=False)
    return server, root


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session (fails, never skips, without binaries)."""
    server, root = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
