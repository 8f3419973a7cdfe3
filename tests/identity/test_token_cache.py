"""The validated-token cache: a token used again costs no database query, and every change that
ends a token (revocation, a user or project disabled, a role taken, a password changed) refuses
it at once, cache or not."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from server import RunningServer
from sqlalchemy import event

from cowcloud.services.passwords import HashGate
from cowcloud.services.token_cache import TokenCache

from .conftest import Member, issue

READ = "/identity/v3/auth/projects"  # any route that validates the caller's token


@contextmanager
def statements(srv: RunningServer) -> Iterator[list[str]]:
    """The SQL statements the server runs inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = srv.app.state.runtime.db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_token_used_again_costs_no_query(srv: RunningServer, http: httpx.Client,
                                           make_member: Any) -> None:
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 200
    auth = srv.app.state.runtime.auth
    with statements(srv) as seen:
        assert auth.validate(token).user.id == member.user_id
    assert seen == []


def _disable_user(http: httpx.Client, admin_token: str, m: Member) -> None:
    assert http.patch(f"/identity/v3/users/{m.user_id}", headers={"X-Auth-Token": admin_token},
                      json={"user": {"enabled": False}}).status_code == 200


def _disable_project(http: httpx.Client, admin_token: str, m: Member) -> None:
    assert http.patch(f"/identity/v3/projects/{m.project_id}",
                      headers={"X-Auth-Token": admin_token},
                      json={"project": {"enabled": False}}).status_code == 200


def _take_role(http: httpx.Client, admin_token: str, m: Member) -> None:
    roles = http.get("/identity/v3/roles", headers={"X-Auth-Token": admin_token}).json()
    member_role = next(r["id"] for r in roles["roles"] if r["name"] == "member")
    assert http.delete(f"/identity/v3/projects/{m.project_id}/users/{m.user_id}/roles/"
                       f"{member_role}", headers={"X-Auth-Token": admin_token}).status_code == 204


def _delete_user(http: httpx.Client, admin_token: str, m: Member) -> None:
    assert http.delete(f"/identity/v3/users/{m.user_id}",
                       headers={"X-Auth-Token": admin_token}).status_code == 204


@pytest.mark.parametrize("change", [_disable_user, _disable_project, _take_role, _delete_user])
def test_a_change_refuses_a_cached_token_at_once(
        http: httpx.Client, admin_token: str, make_member: Any,
        change: Callable[[httpx.Client, str, Member], None]) -> None:
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    for _ in range(2):  # the second from the cache
        assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 200
    change(http, admin_token, member)
    assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 401


def test_a_revoked_cached_token_is_refused_at_once(http: httpx.Client,
                                                   make_member: Any) -> None:
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    for _ in range(2):
        assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 200
    assert http.delete("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token}).status_code == 204
    assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 401


def test_image_writes_keep_the_cache_and_a_stale_validation_is_not_kept() -> None:
    cache = TokenCache()
    info: Any = object()
    cache.put("t", info, cache.generation)
    cache.tables_written(frozenset({"images", "image_properties", "tasks"}))
    assert cache.get("t") is info
    cache.tables_written(frozenset({"users"}))
    assert cache.get("t") is None
    started = cache.generation  # a validation reads its rows, then a write commits...
    cache.tables_written(frozenset({"*"}))  # (a statement whose table is unknown counts)
    cache.put("t", info, started)  # ...and what it read is not kept
    assert cache.get("t") is None


def test_a_kept_token_past_its_expiry_is_refused(srv: RunningServer, http: httpx.Client,
                                                make_member: Any) -> None:
    """A hit under the keys it was checked with skips the decryption, not the clock."""
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 200
    auth = srv.app.state.runtime.auth
    info, keys = auth.cache.lookup(token)
    assert keys == auth.tokens.keys.loads  # kept with the keys of today
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    auth.cache.put(token, replace(info, payload=replace(info.payload, expires_at=past)),
                   auth.cache.generation, keys)  # as the kept token will be, once it expires
    assert http.get(READ, headers={"X-Auth-Token": token}).status_code == 401


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _two_hashes_at_once(gate: HashGate) -> list[int]:
    """Runs two 'hashes' that overlap; the nice value each ran at."""
    first_in, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        seen.append(_nice())
        first_in.set()
        release.wait(10)

    t = threading.Thread(target=gate.run, args=(first,))
    t.start()
    assert first_in.wait(10)
    gate.run(lambda: seen.append(_nice()))
    release.set()
    t.join(10)
    return seen


def test_hashing_keeps_a_core_free_while_requests_are_served() -> None:
    base = _nice()
    idle = HashGate(wide=2, narrow=1, busy_seconds=3600, nice=5)
    assert _two_hashes_at_once(idle) == [base, base]  # nobody else served: every core
    busy = HashGate(wide=2, narrow=1, busy_seconds=3600, nice=5)
    busy.note_request()
    assert _two_hashes_at_once(busy) == [base, min(base + 5, 19)]  # the second yields


def test_logins_get_their_hash_in_the_order_they_asked() -> None:
    gate = HashGate(wide=1, narrow=1, busy_seconds=3600)
    release, order, threads = threading.Event(), [], []
    holder = threading.Thread(target=gate.run, args=(lambda: release.wait(10),))
    holder.start()
    while gate.running == 0:
        time.sleep(0.01)
    for i in range(5):
        t = threading.Thread(target=gate.run, args=(order.append, i))
        t.start()
        threads.append(t)
        while gate._tickets < i + 2:  # this one is queued before the next asks
            time.sleep(0.01)
    release.set()
    for t in [holder, *threads]:
        t.join(10)
    assert order == [0, 1, 2, 3, 4]
