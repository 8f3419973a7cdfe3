"""The answers of image list and show, kept until the database changes (SQLite only).

A read costs about a millisecond of CPU, two thirds of it the database (three statements for a
list, two for a show) and the views; the same read asked again by the same caller, with nothing
written in between, gets the same answer. Kept per (operation, arguments, caller), where the
caller is the whole RequestContext but its request and audit ids: policy and visibility read
nothing else of it.

Correctness before speed: an answer is never served once a write it could miss is committed.
Every lookup first asks a connection of its own, which never writes, for SQLite's
`PRAGMA data_version` (3 us): it changes whenever any other connection, of this process or
another one on the same database file, has committed. Any change empties the cache, so a read
that starts after a commit cannot be answered from before it. An answer computed from rows read
before a commit is not kept if it comes back after the emptying (the generation it was looked
up under is gone), as in the token cache. Commits of this process that write a table views read
also empty the cache at once (Database.watch_writes: after the commit, before the request that
wrote gets its answer, background tasks' commits included), which makes sure of it twice.
The lookup runs on the event loop, so a kept answer costs no trip to a thread: the probe never
waits (no busy timeout), and any error of it counts as a change.
PostgreSQL has no such counter, and several API processes may share one (DESIGN.md): there the
cache is off and every read goes to the database.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from ...db import Database
from ..context import RequestContext

# Tables whose writes cannot change a view or who may see it (task leases are renewed every few
# seconds while a task runs; an import task's progress that views show is an image property)
UNRELATED = frozenset({"tasks", "revoked_tokens"})
UNRELATED_PREFIXES = ("metadef_", "volume")
MAX_VIEWS = 10_000  # image views held in all (a view is one to two KiB)
MAX_LIST = 100  # longer pages are not kept: one would take too much of MAX_VIEWS


def caller_key(ctx: RequestContext) -> RequestContext:
    """What of the caller an answer depends on: all but the ids of the request and the token."""
    return replace(ctx, request_id="", audit_id="")


class ReadCache:
    def __init__(self, db: Database, max_views: int = MAX_VIEWS) -> None:
        url = db.engine.url
        self.path = url.database if url.get_backend_name() == "sqlite" and url.database not in (
            None, "", ":memory:") else None
        self.enabled = self.path is not None
        self.max_views = max_views
        self.generation = 0
        self._views = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._probe: sqlite3.Connection | None = None
        self._version: int | None = None  # the probe's data_version when last asked
        db.watch_writes(self.tables_written)

    def lookup(self, key: Hashable) -> tuple[Any | None, int]:
        """(the kept answer or None, the generation to store a fresh one under, which must be
        taken before the rows are read)."""
        if not self.enabled:
            return None, -1
        with self._lock:
            if self._changed():
                self._clear()
            found = self._entries.get(key)
            if found is None:
                return None, self.generation
            self._entries.move_to_end(key)
            return found[0], self.generation

    def _changed(self) -> bool:
        """Whether any other connection committed since the probe last asked (or it cannot
        tell)."""
        try:
            if self._probe is None:
                assert self.path is not None
                self._probe = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                              check_same_thread=False)
            version = self._probe.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            self.close()
            return True
        changed = version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        probe, self._probe, self._version = self._probe, None, None
        if probe is not None:
            probe.close()

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
            self._clear()

    def _clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._views = 0

    def tables_written(self, tables: frozenset[str]) -> None:
        """Database.watch_writes callback."""
        if any(t not in UNRELATED and not t.startswith(UNRELATED_PREFIXES) for t in tables):
            self.clear()

    def __len__(self) -> int:
        return len(self._entries)
