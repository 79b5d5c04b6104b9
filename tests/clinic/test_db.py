"""Opening the clinic: migrations on an empty database, SQLite settings, the key check,
one transaction per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from cadence.clinic import patients
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import (
    Clinic,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    normal_url,
    open_clinic,
)
from cadence.clinic.errors import InvalidValue, KeyProblem
from cadence.clinic.models import Base
from tests.clinic.conftest import random_key


def test_migrations_upgrade_an_empty_database_to_the_models(empty_config: ClinicConfig
                                                            ) -> None:
    config = empty_config
    if config.is_sqlite:
        config.home.mkdir(parents=True)
    engine = make_engine(config.database_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision() == "0006"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        for name, table in Base.metadata.tables.items():
            columns = {c["name"] for c in inspect(engine).get_columns(name)}
            assert columns == set(table.columns.keys()), name
        migrate(engine)  # a second upgrade is a no-op
        assert current_revision(engine) == "0006"
    finally:
        engine.dispose()


def test_ids_are_never_reused_and_the_upgrade_keeps_the_rows(empty_config: ClinicConfig
                                                             ) -> None:
    """Issue 17: SQLite handed a deleted row's id to the next insert (no AUTOINCREMENT), so an
    erased patient's link named the next patient's session. 0002 rebuilds the tables."""
    from sqlalchemy import text

    if empty_config.is_sqlite:
        empty_config.home.mkdir(parents=True)
    engine = make_engine(empty_config.database_url)
    stamp = "'2026-01-01 00:00:00'"
    try:
        migrate(engine, "0001")
        with engine.begin() as c:
            c.execute(text("INSERT INTO clinicians (username, password_hash, role, active, "
                           f"created_at) VALUES ('ada', 'x', 'admin', true, {stamp})"))
            for code in ("A", "B"):
                c.execute(text("INSERT INTO patients (code, wrapped_key, name_enc, created_at, "
                               f"updated_at) VALUES ('{code}', 'k', 'n', {stamp}, {stamp})"))
            c.execute(text("INSERT INTO consents (patient_id, scope, given, recorded_by, "
                           f"recorded_at) VALUES (2, 'sessions', true, 'ada', {stamp})"))
        migrate(engine)
        with engine.begin() as c:
            assert c.execute(text("SELECT count(*) FROM consents")).scalar() == 1
            assert c.execute(text("SELECT count(*) FROM patients")).scalar() == 2
            c.execute(text("DELETE FROM patients WHERE code = 'B'"))
            assert c.execute(text("SELECT count(*) FROM consents")).scalar() == 0  # cascades
            c.execute(text("INSERT INTO patients (code, wrapped_key, name_enc, created_at, "
                           f"updated_at) VALUES ('C', 'k', 'n', {stamp}, {stamp})"))
            new_id = c.execute(text("SELECT id FROM patients WHERE code = 'C'")).scalar()
        assert new_id == 3  # not B's 2
        if empty_config.is_sqlite:
            with engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_config: ClinicConfig) -> None:
    from alembic import command

    from cadence.clinic.db import alembic_config

    if empty_config.is_sqlite:
        empty_config.home.mkdir(parents=True)
    engine = make_engine(empty_config.database_url)
    try:
        migrate(engine)
        cfg = alembic_config()
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"clinic_alembic_version"}
        migrate(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migration_files_ship_inside_the_package() -> None:
    import cadence.clinic.db as db

    assert (db.MIGRATIONS / "env.py").is_file()
    assert (db.MIGRATIONS / "script.py.mako").is_file()
    assert any(db.MIGRATIONS.glob("versions/r0001_*.py"))
    assert db.MIGRATIONS.is_relative_to(Path(db.__file__).parent)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with open_clinic(ClinicConfig.at(tmp_path)) as clinic, clinic.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1


def test_first_run_creates_a_private_key_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_clinic(ClinicConfig.at(home)).close()
    key = home / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_text().strip()) == 44
    open_clinic(ClinicConfig.at(home)).close()  # the same key opens it again


def test_a_wrong_key_is_one_clear_error(config: ClinicConfig) -> None:
    open_clinic(config).close()
    wrong = ClinicConfig(config.home, config.database_url, secret_key=random_key())
    with pytest.raises(KeyProblem, match="not the key this database was written with"):
        open_clinic(wrong)


def test_a_missing_key_is_one_clear_error(config: ClinicConfig) -> None:
    open_clinic(config).close()
    config.key_file.unlink()
    with pytest.raises(KeyProblem, match="no encryption key"):
        open_clinic(config)
    assert not config.key_file.exists()  # no new key was invented for an encrypted database


def test_a_malformed_key_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(KeyProblem, match="CADENCE_SECRET_KEY"):
        open_clinic(ClinicConfig.at(tmp_path, secret_key="hunter2"))


def test_env_key_needs_no_key_file(tmp_path: Path) -> None:
    key = random_key()
    open_clinic(ClinicConfig.at(tmp_path, secret_key=key)).close()
    assert not (tmp_path / "secret.key").exists()
    open_clinic(ClinicConfig.at(tmp_path, secret_key=key)).close()


def test_a_failing_change_leaves_nothing_written(clinic: Clinic, therapist: Actor) -> None:
    with pytest.raises(InvalidValue), clinic.session() as db:
        patients.add_patient(db, Actor.system(), name="First", code="KEEP-NOT",
                             therapist_id=therapist.clinician_id)
        patients.add_patient(db, therapist, name="Second", birth_year=1800)
    with clinic.session() as db:
        assert patients.list_patients(db, Actor.system()) == []


def test_from_env_reads_the_documented_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("CADENCE_SECRET_KEY", "k")
    config = ClinicConfig.from_env()
    assert config.database_url == f"sqlite:///{tmp_path / 'cadence.db'}"
    assert config.secret_key == "k"
    assert config.key_file == tmp_path / "secret.key"
    monkeypatch.setenv("CADENCE_DATABASE_URL", "postgresql://u@h/db")
    assert normal_url(ClinicConfig.from_env().database_url) == "postgresql+psycopg://u@h/db"


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    from cadence.clinic.errors import Unavailable
    from tests.servers import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(Unavailable, match="cannot open the clinic database"):
        open_clinic(ClinicConfig.at(tmp_path, url))


def test_concurrent_writers_wait_their_turn(clinic: Clinic) -> None:
    """Every service call writes (its audit entry at least); on SQLite, transactions take the
    write lock at BEGIN, so read-then-write transactions from several threads all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> int:
        for i in range(4):
            with clinic.session() as db:
                patients.list_patients(db, Actor.system())
                patients.add_patient(db, Actor.system(), name=f"w{worker}-{i}")
        return worker

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert sorted(pool.map(work, range(6))) == list(range(6))
    with clinic.session() as db:
        assert len(patients.list_patients(db, Actor.system())) == 24
