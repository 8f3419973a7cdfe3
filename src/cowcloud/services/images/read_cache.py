"""The answers of image list and show, kept until the database changes (SQLite only).

A read costs about a millisecond of CPU, two thirds of it the database (three statements for a
list, two for a show) and the views; the same read asked again by the same caller, with nothing
written in between, gets the same answer. Kept per (operation, arguments, caller), where the
caller is the whole RequestContext but its request and audit ids: policy and visibility read
nothing else of it.

Correctness before speed: an answer is never served once a write it could miss is committed.
- Writes of this process: every commit that writes a table (Database.watch_writes: the ORM's
  flushes and its bulk statements, which is how every image write is made) empties the cache
  after the commit and before the request that wrote gets its answer, background tasks'
  commits included. Only tables no view reads are left out (UNRELATED). A read that started
  before such a commit does not keep what it read (the generation it started under is gone),
  as the token cache does.
- Writes of any other process on the same database file: each read first asks its connection
  for SQLite's `PRAGMA data_version`, which changes whenever another connection (of any
  process) has committed since that connection last asked. Any change, or a connection that
  has never asked, empties the cache. Every commit by another connection lies between two asks
  on each pooled connection, and the later ask drops what was kept before the commit, so a read
  that starts after a commit cannot be answered from before it.
PostgreSQL has no such counter, and several API processes may share one (DESIGN.md): there the
cache is off and every read goes to the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from ...db import Database
from ..context import RequestContext

# Tables whose writes cannot change a view or who may see it (task leases are renewed every few
# seconds while a task runs; an import task's progress that views show is an image property)
UNRELATED = frozenset({"tasks", "revoked_tokens"})
UNRELATED_PREFIXES = ("metadef_", "volume")
MAX_VIEWS = 10_000  # image views held in all (a view is one to two KiB)
MAX_LIST = 100  # longer pages are not kept: one would take too much of MAX_VIEWS
_VERSION = "cowcloud_data_version"  # key in a pooled connection's info: the last one seen


def caller_key(ctx: RequestContext) -> RequestContext:
    """What of the caller an answer depends on: all but the ids of the request and the token."""
    return replace(ctx, request_id="", audit_id="")


class ReadCache:
    def __init__(self, db: Database, max_views: int = MAX_VIEWS) -> None:
        self.enabled = db.engine.dialect.name == "sqlite"
        self.max_views = max_views
        self.generation = 0
        self._views = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        db.watch_writes(self.tables_written)

    def lookup(self, s: Session, key: Hashable) -> tuple[Any | None, int]:
        """(the kept answer or None, the generation to store a fresh one under). Asks the
        session's connection whether another connection committed since it last asked."""
        if not self.enabled:
            return None, -1
        record = s.connection().connection
        version = record.dbapi_connection.execute("PRAGMA data_version").fetchone()[0]
        if record.info.get(_VERSION) != version:
            self.clear()  # before noting the version: a failure here leaves it unnoted
            record.info[_VERSION] = version
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0], self.generation
            return None, self.generation

    def store(self, key: Hashable, value: Any, generation: int, views: int = 1) -> None:
        """Keeps `value` (`views` image views) if nothing was written since `generation` was
        handed out by lookup(), before the rows were read."""
        if not self.enabled or views > MAX_LIST:
            return
        with self._lock:
            if generation != self.generation or key in self._entries:
                return
            self._entries[key] = (value, views)
            self._views += views
            while self._views > self.max_views:
                _, (_, n) = self._entries.popitem(last=False)
                self._views -= n

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._views = 0

    def tables_written(self, tables: frozenset[str]) -> None:
        """Database.watch_writes callback."""
        if any(t not in UNRELATED and not t.startswith(UNRELATED_PREFIXES) for t in tables):
            self.clear()

    def __len__(self) -> int:
        return len(self._entries)
