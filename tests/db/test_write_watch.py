"""Database.watch_writes: told the tables of every committed write (ORM flush or bulk
statement), after the commit, and never of a write rolled back or of a read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from cowcloud.db import Database
from cowcloud.db.models import Domain, RevokedToken, utcnow


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'cowcloud.db'}")
    database.migrate()
    return database


def test_committed_writes_are_told_with_their_tables(db: Database) -> None:
    told: list[frozenset[str]] = []
    db.watch_writes(told.append)
    with db.session() as s:
        s.add(RevokedToken(audit_id="a1", expires_at=utcnow()))
    with db.session() as s:
        s.scalars(select(Domain)).all()  # a read: nothing
    with db.session() as s:
        s.execute(update(Domain).where(Domain.id == "none").values(enabled=False))
    with db.session() as s:
        s.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    with db.session() as s:
        s.execute(text("UPDATE domains SET enabled = enabled WHERE id = 'none'"))
    assert told == [frozenset({"revoked_tokens"}), frozenset({"domains"}),
                    frozenset({"revoked_tokens"}), frozenset({"*"})]


def test_a_write_rolled_back_is_not_told(db: Database) -> None:
    told: list[frozenset[str]] = []
    db.watch_writes(told.append)
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(RevokedToken(audit_id="a2", expires_at=utcnow()))
        s.flush()
        raise RuntimeError("the request failed after its flush")
    with db.session() as s:
        s.scalars(select(Domain)).all()
    assert told == []
