"""One cowcloud server for the identity tests, admin and member connections, clouds.yaml."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection
from server import RunningServer, run_server


@pytest.fixture(scope="session")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with run_server(tmp_path_factory.mktemp("identity")) as running:
        yield running


def connect(entry: dict[str, Any]) -> Connection:
    """openstacksdk on exactly this entry: no clouds.yaml, no OS_* variables."""
    return openstack.connect(load_yaml_config=False, load_envvars=False, **entry)


@pytest.fixture(scope="session")
def admin(srv: RunningServer) -> Connection:
    return connect(srv.cloud())


@pytest.fixture(scope="session")
def http(srv: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Member:
    """A user with the member role on a project of its own."""

    name: str
    password: str
    user_id: str
    project: str
    project_id: str
    entry: dict[str, Any]

    def password_auth(self, scope: dict[str, Any] | None = None) -> dict[str, Any]:
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.name, "domain": {"id": "default"}, "password": self.password}}}}
        if scope is not None:
            auth["scope"] = scope
        return {"auth": auth}


@pytest.fixture
def make_member(srv: RunningServer, admin: Connection):  # type: ignore[no-untyped-def]
    def make(role: str = "member") -> Member:
        project = admin.identity.create_project(name=unique("proj"), domain_id="default")
        name, password = unique("user"), f"pw-{uuid.uuid4().hex}"
        user = admin.identity.create_user(name=name, password=password, domain_id="default",
                                          default_project_id=project.id)
        role_id = admin.identity.find_role(role, ignore_missing=False).id
        admin.identity.assign_project_role_to_user(project, user, role_id)
        return Member(name, password, user.id, project.name, project.id,
                      srv.cloud(username=name, password=password, project=project.name))
    return make


def issue(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.post("/identity/v3/auth/tokens", json=body)


def admin_body(srv: RunningServer, scope: dict[str, Any] | None = None,
               password: str | None = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"},
        "password": srv.admin_password if password is None else password}}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


@pytest.fixture(scope="session")
def admin_token(srv: RunningServer, http: httpx.Client) -> str:
    resp = issue(http, admin_body(srv, {"project": {"name": "admin", "domain": {"id": "default"}}}))
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def validate(http: httpx.Client, caller: str, subject: str) -> httpx.Response:
    return http.get("/identity/v3/auth/tokens",
                    headers={"X-Auth-Token": caller, "X-Subject-Token": subject})


@pytest.fixture
def clouds_yaml(srv: RunningServer, tmp_path: Path) -> Path:
    return srv.write_clouds_yaml(tmp_path / "clouds.yaml")
