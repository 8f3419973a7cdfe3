"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from .errors import constraints

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine that survives concurrent requests and background tasks on SQLite.

    Keystone and Glance on SQLite fail under two clients with "database is locked"; WAL lets
    readers run beside one writer, and the busy timeout makes writers queue instead of failing.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _note_flush(session: Session, _context: Any) -> None:
    # after_flush still sees the pre-flush new/dirty/deleted sets
    written = session.info.setdefault(WRITTEN, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__table__", None)
        written.add(table.name if table is not None else UNKNOWN_TABLE)


def _note_statement(state: ORMExecuteState) -> None:
    """Bulk insert/update/delete (session.execute(delete(...))) bypass the flush."""
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None) if (state.is_insert or state.is_update
                                            or state.is_delete) else None
    state.session.info.setdefault(WRITTEN, set()).add(name or UNKNOWN_TABLE)


def _forget_writes(session: Session) -> None:
    session.info.pop(WRITTEN, None)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Brings the schema to `revision` with Alembic, on the engine's own connection."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


UNKNOWN_TABLE = "*"  # a write whose table cannot be told (a textual statement)
WRITTEN = "cowcloud_written_tables"  # Session.info key


class Database:
    """The engine and a session factory; `session()` is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_watchers: list[Callable[[frozenset[str]], None]] = []
        event.listen(self._sessions, "after_flush", _note_flush)
        event.listen(self._sessions, "do_orm_execute", _note_statement)
        event.listen(self._sessions, "after_commit", self._committed)
        event.listen(self._sessions, "after_rollback", _forget_writes)

    def watch_writes(self, callback: Callable[[frozenset[str]], None]) -> None:
        """callback(tables) after every commit of a session that wrote to `tables` (names, or
        UNKNOWN_TABLE), once the commit is done: in the committing thread, before `session()`
        returns. Caches of rows use it to drop what a write made stale, before anyone is told
        the write happened."""
        self._write_watchers.append(callback)

    def _committed(self, session: Session) -> None:
        tables = session.info.pop(WRITTEN, None)
        if tables:
            for callback in self._write_watchers:
                callback(frozenset(tables))

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with constraints(), self._sessions.begin() as s:
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
