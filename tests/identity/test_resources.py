"""Domains, projects, users, roles, grants and role assignments, as openstacksdk drives them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from .conftest import Member, connect, issue, unique, validate


def test_project_and_user_lifecycle(admin: Connection, http: httpx.Client,
                                    admin_token: str) -> None:
    name = unique("proj")
    project = admin.identity.create_project(name=name, description="first", domain_id="default")
    assert project.domain_id == "default" and project.is_enabled
    with pytest.raises(sdk_exc.ConflictException):
        admin.identity.create_project(name=name, domain_id="default")
    admin.identity.update_project(project, description="second")
    assert admin.identity.get_project(project.id).description == "second"
    assert [p.id for p in admin.identity.projects(name=name)] == [project.id]

    user = admin.identity.create_user(name=unique("user"), password="pw", email="u@example.org",
                                      default_project_id=project.id)
    shown = admin.identity.get_user(user.id)
    assert shown.email == "u@example.org" and shown.default_project_id == project.id
    raw = http.get(f"/identity/v3/users/{user.id}", headers={"X-Auth-Token": admin_token}).json()
    assert "password" not in raw["user"] and "password_hash" not in raw["user"]

    admin.identity.delete_project(project)
    missing = http.get(f"/identity/v3/projects/{project.id}", headers={"X-Auth-Token": admin_token})
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": 404, "title": "Not Found",
                                        "message": f"Could not find project: {project.id}."}}
    admin.identity.delete_user(user)
    with pytest.raises(sdk_exc.NotFoundException):
        admin.identity.get_user(user.id)


def test_member_sees_only_its_own(admin: Connection, http: httpx.Client,
                                  make_member: Any) -> None:
    member: Member = make_member()
    other: Member = make_member()
    conn = connect(member.entry)
    assert conn.identity.get_project(member.project_id).name == member.project
    assert conn.identity.get_user(member.user_id).name == member.name
    assert [p.id for p in conn.identity.user_projects(member.user_id)] == [member.project_id]
    for call in (lambda: conn.identity.get_project(other.project_id),
                 lambda: conn.identity.get_user(other.user_id),
                 lambda: conn.identity.get_user("no-such-user"),  # no probing for ids
                 lambda: list(conn.identity.projects()),
                 lambda: list(conn.identity.role_assignments()),
                 lambda: conn.identity.create_user(name=unique("x"))):
        with pytest.raises(sdk_exc.ForbiddenException):
            call()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    mine = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token}).json()
    assert [p["id"] for p in mine["projects"]] == [member.project_id]

    change = f"/identity/v3/users/{member.user_id}/password"
    wrong = http.post(change, headers={"X-Auth-Token": token}, json={
        "user": {"original_password": "not it", "password": "new-pw"}})
    assert wrong.status_code == 401
    assert http.post(change, headers={"X-Auth-Token": token}, json={"user": {
        "original_password": member.password, "password": "new-pw"}}).status_code == 204
    assert issue(http, member.password_auth()).status_code == 401
    member.password = "new-pw"
    fresh = issue(http, member.password_auth())
    assert fresh.status_code == 201
    # tokens issued under the old password end with it, as Keystone revokes them
    assert http.get("/identity/v3/auth/projects",
                    headers={"X-Auth-Token": token}).status_code == 401
    assert http.get("/identity/v3/auth/projects", headers={
        "X-Auth-Token": fresh.headers["X-Subject-Token"]}).status_code == 200


def test_role_assignments_and_grants(admin: Connection, http: httpx.Client, admin_token: str,
                                     make_member: Any) -> None:
    member: Member = make_member()
    roles = {r.name: r.id for r in admin.identity.roles()}
    direct = list(admin.identity.role_assignments(user_id=member.user_id))
    assert [(a.role["id"], a.scope["project"]["id"]) for a in direct] == [
        (roles["member"], member.project_id)]
    effective = admin.identity.role_assignments(user_id=member.user_id, effective=True)
    assert {a.role["id"] for a in effective} == {roles["member"], roles["reader"]}
    named = list(admin.identity.role_assignments(scope_project_id=member.project_id,
                                                 include_names=True))
    assert named[0].user["name"] == member.name
    assert named[0].scope["project"]["domain"] == {"id": "default", "name": "Default"}

    grant = (f"/identity/v3/projects/{member.project_id}/users/{member.user_id}"
             f"/roles/{roles['member']}")
    auth = {"X-Auth-Token": admin_token}
    assert http.head(grant, headers=auth).status_code == 204
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    # roles are looked up when a token is validated: removing the last one ends the token
    admin.identity.unassign_project_role_from_user(member.project_id, member.user_id,
                                                   roles["member"])
    assert http.head(grant, headers=auth).status_code == 404
    assert validate(http, admin_token, token).status_code == 404
    assert issue(http, member.password_auth()).json()["token"].get("project") is None
    admin.identity.assign_project_role_to_user(member.project_id, member.user_id,
                                               roles["reader"])
    body = validate(http, admin_token, token).json()["token"]
    assert [r["name"] for r in body["roles"]] == ["reader"]


def test_project_member_reads_its_projects_domain(http: httpx.Client, admin_token: str,
                                                  make_member: Any) -> None:
    """Keystone's get_domain: also token.project.domain.id == the domain's id."""
    member: Member = make_member("reader")
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    shown = http.get("/identity/v3/domains/default", headers={"X-Auth-Token": token})
    assert shown.status_code == 200, shown.text
    assert shown.json()["domain"]["id"] == "default"
    other = http.post("/identity/v3/domains", headers={"X-Auth-Token": admin_token},
                      json={"domain": {"name": unique("dom")}})
    assert other.status_code == 201, other.text
    other_id = other.json()["domain"]["id"]
    for domain_id in (other_id, "no-such-domain"):
        refused = http.get(f"/identity/v3/domains/{domain_id}", headers={"X-Auth-Token": token})
        assert refused.status_code == 403, refused.text
    unscoped = issue(http, member.password_auth("unscoped")).headers["X-Subject-Token"]
    assert http.get("/identity/v3/domains/default",
                    headers={"X-Auth-Token": unscoped}).status_code == 403
    drop_domain(http, admin_token, other_id)


def drop_domain(http: httpx.Client, admin_token: str, domain_id: str) -> None:
    """Disable and delete a domain a test made (others list the domains)."""
    url, auth = f"/identity/v3/domains/{domain_id}", {"X-Auth-Token": admin_token}
    assert http.patch(url, headers=auth, json={"domain": {"enabled": False}}).status_code == 200
    assert http.delete(url, headers=auth).status_code == 204


@pytest.mark.parametrize(("kind", "limit"), [("projects", 64), ("domains", 64), ("users", 255),
                                             ("roles", 255)])
def test_name_length_limits(http: httpx.Client, admin_token: str, kind: str,
                            limit: int) -> None:
    """Keystone's schemas: project and domain names 1..64 characters, user and role names 255."""
    key, auth = kind[:-1], {"X-Auth-Token": admin_token}
    url = f"/identity/v3/{kind}"
    too_long = http.post(url, headers=auth, json={key: {"name": "n" + "x" * limit}})
    assert too_long.status_code == 400, too_long.text
    assert too_long.json()["error"]["code"] == 400
    assert f"1 to {limit} characters" in too_long.json()["error"]["message"]
    for blank in ("", "   "):
        assert http.post(url, headers=auth, json={key: {"name": blank}}).status_code == 400
    name = unique("n")
    made = http.post(url, headers=auth, json={key: {"name": name + "x" * (limit - len(name))}})
    assert made.status_code == 201, made.text
    thing = f"{url}/{made.json()[key]['id']}"
    for bad in ("x" * (limit + 1), "", None, 5):
        renamed = http.patch(thing, headers=auth, json={key: {"name": bad}})
        assert renamed.status_code == 400, (bad, renamed.text)
    assert http.get(thing, headers=auth).json()[key]["name"].startswith(name)
    if kind == "domains":
        drop_domain(http, admin_token, made.json()[key]["id"])
    elif kind == "roles":
        assert http.delete(thing, headers=auth).status_code == 204
