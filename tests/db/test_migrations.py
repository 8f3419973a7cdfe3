"""Alembic migrations on both databases: the schema they build is the one the models describe."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from cowcloud.db import Database
from cowcloud.db.engine import downgrade
from cowcloud.db.models import Base, Task

TABLES = {"domains", "projects", "users", "roles", "role_assignments", "application_credentials",
          "revoked_tokens", "images", "image_properties", "image_tags", "image_members",
          "image_locations", "tasks", "alembic_version"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cowcloud.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.engine.begin() as conn:  # the PostgreSQL database is shared by the session
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    yield db
    db.dispose()


def test_migrations_build_the_models_schema(database: Database) -> None:
    database.migrate()
    assert TABLES <= set(inspect(database.engine).get_table_names())
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_migrate_is_idempotent_and_reversible(database: Database) -> None:
    database.migrate()
    with database.session() as s:
        s.add(Task(kind="probe"))
    database.migrate()  # a second start must not fail or lose rows
    with database.session() as s:
        assert s.query(Task).count() == 1
    downgrade(database.engine, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.migrate()
    assert TABLES <= set(inspect(database.engine).get_table_names())


def test_sqlite_survives_concurrent_writers(tmp_path: Path) -> None:
    """Keystone and Glance on SQLite fail here with 'database is locked'; WAL and a busy timeout
    make writers queue instead."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.migrate()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                with db.session() as s:
                    s.add(Task(kind=f"w{n}", message=str(i)))
                with db.session() as s:
                    s.query(Task).filter(Task.kind == f"w{n}").count()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session() as s:
        assert s.query(Task).count() == 300
    db.dispose()
