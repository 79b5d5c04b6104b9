"""The PostgreSQL test server fails (never skips) when its binaries are missing."""

from __future__ import annotations

import pytest

from tests import servers


def test_missing_binaries_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "find_pg_bin", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y postgresql"):
        servers.start_postgres()


def test_the_server_answers(postgresql_server: servers.PostgresServer) -> None:
    assert postgresql_server.psql("SHOW server_version").startswith(("15", "16", "17"))
    assert postgresql_server.psql("SHOW listen_addresses").strip() == "127.0.0.1"
