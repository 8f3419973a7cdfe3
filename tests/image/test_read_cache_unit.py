"""ReadCache's own rules (services/images/read_cache.py), on a real SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cowcloud.db import Database
from cowcloud.db.engine import UNKNOWN_TABLE
from cowcloud.services.images.read_cache import MAX_LIST, ReadCache


def _cache(tmp_path: Path, **kw: int) -> ReadCache:
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.migrate()
    return ReadCache(db, **kw)


def test_a_write_to_a_table_views_read_empties_it(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    for tables, kept in ((frozenset({"tasks"}), True), (frozenset({"revoked_tokens"}), True),
                         (frozenset({"metadef_tags", "volumes"}), True),
                         (frozenset({"tasks", "image_locations"}), False),
                         (frozenset({"image_members"}), False), (frozenset({"users"}), False),
                         (frozenset({UNKNOWN_TABLE}), False)):
        _, generation = cache.lookup("k")
        cache.store("k", "v", generation)
        cache.tables_written(tables)
        assert (cache.lookup("k")[0] == "v") is kept, tables
        cache.clear()


def test_what_was_read_before_a_change_is_not_kept(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    _, generation = cache.lookup("k")  # then the rows are read, then a commit lands
    with sqlite3.connect(cache.path or "") as other:
        other.execute("CREATE TABLE scratch (x)")  # any commit
    assert cache.lookup("other")[0] is None  # the probe sees it
    cache.store("k", "stale", generation)
    assert cache.lookup("k")[0] is None


def test_bounded_by_the_views_it_holds(tmp_path: Path) -> None:
    cache = _cache(tmp_path, max_views=50)
    for i in range(3):
        cache.store(i, "page", cache.lookup(i)[1], views=20)
    assert [cache.lookup(i)[0] for i in range(3)] == [None, "page", "page"]
    cache.store("big", "page", cache.lookup("big")[1], views=MAX_LIST + 1)
    assert cache.lookup("big")[0] is None


def test_off_without_a_database_file_to_probe() -> None:
    cache = ReadCache(Database("sqlite://"))
    cache.store("k", "v", cache.lookup("k")[1])
    assert not cache.enabled and cache.lookup("k")[0] is None
