"""Web tables an earlier version created get the columns a later one added (links' scope)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from cadence.web.store import create_tables


def test_an_old_links_table_gets_its_scope_column(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    create_tables(engine)
    with engine.begin() as c:  # as a version before course links left it
        c.exec_driver_sql("ALTER TABLE web_patient_links DROP COLUMN scope")
        c.execute(text("INSERT INTO web_patient_links (token_hash, patient_code, session_id, "
                       "role, created_by, created_at, expires_at) VALUES ('h', 'P-1', 1, "
                       "'therapist', 'theo', '2029-01-01', '2030-01-01')"))
    assert "scope" not in {col["name"] for col in inspect(engine).get_columns("web_patient_links")}
    create_tables(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT scope FROM web_patient_links")).scalar() == "session"
