"""One table holds users' and groups' grants (migration 0006): no foreign key names the actor
any more, so deleting a user, a group or a domain deletes their grants itself, and a grant made
while its user or group is deleted does not outlive it (PostgreSQL runs the two side by side)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pg_server import fresh_database
from server import RunningServer, race, run_server, settings_for
from sqlalchemy import select

from cowcloud.db.models import RoleAssignment

from .conftest import admin_body, issue

V3 = "/identity/v3"


def _new(http: httpx.Client, kind: str, **fields: Any) -> str:
    fields.setdefault("name", f"at-{uuid.uuid4().hex[:8]}")
    resp = http.post(f"{V3}/{kind}s", json={kind: fields})
    assert resp.status_code == 201, resp.text
    return str(resp.json()[kind]["id"])


def _grants_of(srv: RunningServer, actor_id: str) -> list[RoleAssignment]:
    with srv.app.state.runtime.db.session() as s:
        return list(s.scalars(select(RoleAssignment).where(RoleAssignment.actor_id == actor_id)))


@contextmanager
def _admin(srv: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        resp = issue(http, admin_body(srv, {"project": {"name": "admin",
                                                        "domain": {"id": "default"}}}))
        http.headers["X-Auth-Token"] = resp.headers["X-Subject-Token"]
        yield http


def test_deletes_take_their_grants_along(srv: RunningServer) -> None:
    with _admin(srv) as http:
        role = _new(http, "role")
        domain = _new(http, "domain")
        project = _new(http, "project")
        actors = {kind: _new(http, kind) for kind in ("user", "group")}
        in_domain = {kind: _new(http, kind, domain_id=domain) for kind in ("user", "group")}
        for kind, actor in [*actors.items(), *in_domain.items()]:
            for target in (f"projects/{project}", f"domains/{domain}"):
                assert http.put(f"{V3}/{target}/{kind}s/{actor}/roles/{role}").status_code == 204
            assert len(_grants_of(srv, actor)) == 2
        for kind, actor in actors.items():
            assert http.delete(f"{V3}/{kind}s/{actor}").status_code == 204
            assert _grants_of(srv, actor) == []
        assert http.patch(f"{V3}/domains/{domain}",
                          json={"domain": {"enabled": False}}).status_code == 200
        assert http.delete(f"{V3}/domains/{domain}").status_code == 204
        for actor in in_domain.values():
            assert _grants_of(srv, actor) == []
        listed = http.get(f"{V3}/role_assignments", params={"role.id": role}).json()
        assert listed["role_assignments"] == []


@pytest.fixture(scope="module")
def pg_srv(postgres_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("pg-assignments")
    settings = settings_for(data, database=fresh_database(postgres_url, "assignments"))
    with run_server(data, settings) as srv:
        yield srv


@pytest.mark.parametrize("kind", ["user", "group"])
def test_grant_racing_its_actors_delete_on_postgresql(pg_srv: RunningServer, kind: str) -> None:
    with _admin(pg_srv) as http:
        project, role = _new(http, "project"), _new(http, "role")
        for _ in range(8):
            actor = _new(http, kind)
            grant = f"{V3}/projects/{project}/{kind}s/{actor}/roles/{role}"
            resps = race([lambda a=actor: http.delete(f"{V3}/{kind}s/{a}"),
                          lambda g=grant: http.put(g), lambda g=grant: http.put(g)])
            assert resps[0].status_code == 204, resps[0].text
            assert {r.status_code for r in resps[1:]} <= {204, 404}, [r.text for r in resps]
            assert _grants_of(pg_srv, actor) == []
