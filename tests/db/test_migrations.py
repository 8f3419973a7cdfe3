"""Alembic migrations on both databases: the schema they build is the one the models describe."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from cowcloud.db import Database
from cowcloud.db.engine import downgrade, migrate
from cowcloud.db.models import Base, RoleAssignment, Task

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


def _insert(conn, table: str, **row: object) -> None:
    conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) "
                      f"VALUES ({', '.join(':' + k for k in row)})"), row)


def _grants(conn, table: str, actor: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(
        f"SELECT {actor}, target_type, target_id, role_id FROM {table} ORDER BY id"))]


def test_one_assignment_table_keeps_every_grant(database: Database) -> None:
    """0006 folds the users' and the groups' grant tables into one: every grant survives the
    upgrade, in the order it was made, and the downgrade puts each back in its own table."""
    migrate(database.engine, "0005")
    with database.engine.begin() as conn:
        _insert(conn, "domains", id="d1", name="D1", description="", enabled=True)
        _insert(conn, "projects", id="p1", name="P1", domain_id="d1", description="",
                enabled=True)
        for role in ("r1", "r2"):
            _insert(conn, "roles", id=role, name=role, description="")
        for user in ("u1", "u2"):
            _insert(conn, "users", id=user, name=user, domain_id="d1", description="",
                    enabled=True, created_at="2026-01-01 00:00:00+00:00")
        _insert(conn, "groups", id="g1", name="G1", domain_id="d1", description="")
        _insert(conn, "user_group_membership", user_id="u2", group_id="g1")
        users = [("u2", "project", "p1", "r1"), ("u1", "domain", "d1", "r2"),
                 ("u1", "project", "p1", "r1")]
        groups = [("g1", "project", "p1", "r2"), ("g1", "domain", "d1", "r1")]
        for table, actor, rows in (("role_assignments", "user_id", users),
                                   ("group_assignments", "group_id", groups)):
            for a, t, i, r in rows:
                _insert(conn, table, **{actor: a}, target_type=t, target_id=i, role_id=r)
    database.migrate()
    with database.engine.connect() as conn:
        merged = [tuple(r) for r in conn.execute(text(
            "SELECT actor_type, actor_id, target_type, target_id, role_id "
            "FROM role_assignments ORDER BY id"))]
    assert merged == [("user", *g) for g in users] + [("group", *g) for g in groups]
    assert "group_assignments" not in inspect(database.engine).get_table_names()
    with database.session() as s:  # the same grant twice is refused by the one table too
        with pytest.raises(IntegrityError):
            s.execute(text("INSERT INTO role_assignments (actor_type, actor_id, target_type, "
                           "target_id, role_id) VALUES ('group', 'g1', 'project', 'p1', 'r2')"))
    with database.session() as s:  # and a new grant gets an id after the copied ones
        s.add(RoleAssignment(actor_type="user", actor_id="u2", target_type="domain",
                             target_id="d1", role_id="r2"))
    downgrade(database.engine, "0005")
    with database.engine.connect() as conn:
        assert _grants(conn, "role_assignments", "user_id") == [
            *users, ("u2", "domain", "d1", "r2")]
        assert _grants(conn, "group_assignments", "group_id") == groups
    database.migrate()
    with database.engine.connect() as conn:
        assert len(conn.execute(text("SELECT id FROM role_assignments")).all()) == 6
