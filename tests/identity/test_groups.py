"""Keystone groups: the groups, their members, roles granted to them, and the roles their
members' tokens carry through them, with the real `openstack` CLI where an operator would use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from server import RunningServer, openstack, openstack_json

from .conftest import issue, unique, validate

V3 = "/identity/v3"


def _role_names(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {r["name"] for r in resp.json()["token"]["roles"]}


def test_group_cli_lifecycle(clouds_yaml: Path, http: httpx.Client, admin_token: str) -> None:
    auth = {"X-Auth-Token": admin_token}
    group, user = unique("grp"), unique("grp-user")
    made = openstack_json(clouds_yaml, "group", "create", "--description", "ops", group)
    assert made["name"] == group and made["domain_id"] == "default"
    assert made["description"] == "ops"
    again = openstack(clouds_yaml, "group", "create", group, check=False)
    assert again.returncode != 0 and "409" in again.stderr, again.stderr
    made_user = openstack_json(clouds_yaml, "user", "create", "--password", "pw", user)

    openstack(clouds_yaml, "group", "add", "user", group, user)
    openstack(clouds_yaml, "group", "add", "user", group, user)  # PUT again: still a member
    inside = openstack(clouds_yaml, "group", "contains", "user", group, user)
    assert f"{user} in group {group}" in inside.stdout + inside.stderr
    assert [u["Name"] for u in openstack_json(clouds_yaml, "user", "list", "--group",
                                              group)] == [user]
    assert group in {g["Name"] for g in openstack_json(clouds_yaml, "group", "list", "--user",
                                                       user)}
    listed = http.get(f"{V3}/groups", params={"name": group, "domain_id": "default"},
                      headers=auth).json()["groups"]
    assert [g["id"] for g in listed] == [made["id"]]
    assert listed[0]["links"]["self"].endswith(f"{V3}/groups/{made['id']}")
    mine = http.get(f"{V3}/users/{made_user['id']}/groups", headers=auth).json()["groups"]
    assert [(g["id"], g["membership_expires_at"]) for g in mine] == [(made["id"], None)]

    renamed = unique("grp-renamed")
    openstack(clouds_yaml, "group", "set", "--name", renamed, "--description", "ops 2", group)
    shown = openstack_json(clouds_yaml, "group", "show", made["id"])
    assert (shown["name"], shown["description"]) == (renamed, "ops 2")
    moved = http.patch(f"{V3}/groups/{made['id']}", headers=auth,
                       json={"group": {"domain_id": "elsewhere"}})
    assert moved.status_code == 400

    openstack(clouds_yaml, "group", "remove", "user", renamed, user)
    outside = openstack(clouds_yaml, "group", "contains", "user", renamed, user, check=False)
    assert f"{user} not in group {renamed}" in outside.stdout + outside.stderr
    for check in (http.head, http.get):
        assert check(f"{V3}/groups/{made['id']}/users/{made_user['id']}",
                     headers=auth).status_code == 404
    assert http.delete(f"{V3}/groups/{made['id']}/users/{made_user['id']}",
                       headers=auth).status_code == 404

    openstack(clouds_yaml, "group", "delete", renamed)
    assert http.get(f"{V3}/groups/{made['id']}", headers=auth).status_code == 404
    assert renamed not in {g["Name"] for g in openstack_json(clouds_yaml, "group", "list")}


def test_group_role_and_effective_assignments(clouds_yaml: Path, http: httpx.Client,
                                              admin_token: str) -> None:
    auth = {"X-Auth-Token": admin_token}
    group, user, project = unique("grp"), unique("grp-user"), unique("grp-proj")
    g = openstack_json(clouds_yaml, "group", "create", group)
    u = openstack_json(clouds_yaml, "user", "create", "--password", "pw", user)
    p = openstack_json(clouds_yaml, "project", "create", project)
    member_id = openstack_json(clouds_yaml, "role", "show", "member")["id"]
    openstack(clouds_yaml, "group", "add", "user", group, user)
    openstack(clouds_yaml, "role", "add", "--group", group, "--project", project, "member")

    granted = openstack_json(clouds_yaml, "role", "assignment", "list", "--group", group)
    assert [(a["Role"], a["Group"], a["Project"], a["User"]) for a in granted] == [
        (member_id, g["id"], p["id"], "")]
    # not effective: the user has no assignment of their own
    assert openstack_json(clouds_yaml, "role", "assignment", "list", "--user", user) == []
    effective = openstack_json(clouds_yaml, "role", "assignment", "list", "--effective",
                               "--user", user, "--names")
    assert {(a["Role"], a["Project"]) for a in effective} == {
        ("member", f"{project}@Default"), ("reader", f"{project}@Default")}
    assert all(a["User"] == f"{user}@Default" and a["Group"] == "" for a in effective)

    raw = http.get(f"{V3}/role_assignments", headers=auth,
                   params={"scope.project.id": p["id"], "effective": ""}).json()
    direct = [a for a in raw["role_assignments"] if a["role"]["id"] == member_id]
    assert len(direct) == 1 and direct[0]["user"] == {"id": u["id"]}
    assert "group" not in direct[0]
    assert direct[0]["links"]["assignment"].endswith(
        f"/projects/{p['id']}/groups/{g['id']}/roles/{member_id}")
    assert direct[0]["links"]["membership"].endswith(f"/groups/{g['id']}/users/{u['id']}")
    by_group = http.get(f"{V3}/role_assignments", headers=auth,
                        params={"group.id": g["id"], "include_names": "1"}).json()
    assert [a["group"] for a in by_group["role_assignments"]] == [
        {"id": g["id"], "name": group, "domain": {"id": "default", "name": "Default"}}]
    both = http.get(f"{V3}/role_assignments", headers=auth,
                    params={"group.id": g["id"], "effective": "true"})
    assert both.status_code == 400

    grants = f"{V3}/projects/{p['id']}/groups/{g['id']}/roles"
    assert [r["id"] for r in http.get(grants, headers=auth).json()["roles"]] == [member_id]
    assert http.head(f"{grants}/{member_id}", headers=auth).status_code == 204
    assert http.get(f"{grants}/{member_id}", headers=auth).status_code == 204
    # the group's domain grant
    domain_grant = f"{V3}/domains/default/groups/{g['id']}/roles/{member_id}"
    assert http.head(domain_grant, headers=auth).status_code == 404
    assert http.put(domain_grant, headers=auth).status_code == 204
    assert http.head(domain_grant, headers=auth).status_code == 204
    assert [r["id"] for r in http.get(f"{V3}/domains/default/groups/{g['id']}/roles",
                                      headers=auth).json()["roles"]] == [member_id]
    assert http.delete(domain_grant, headers=auth).status_code == 204
    assert http.delete(domain_grant, headers=auth).status_code == 404
    projects = http.get(f"{V3}/users/{u['id']}/projects", headers=auth).json()["projects"]
    assert [x["id"] for x in projects] == [p["id"]]  # through the group

    openstack(clouds_yaml, "role", "remove", "--group", group, "--project", project, "member")
    assert openstack_json(clouds_yaml, "role", "assignment", "list", "--group", group) == []
    assert openstack_json(clouds_yaml, "role", "assignment", "list", "--effective",
                          "--user", user) == []


def test_group_role_on_token_until_removed(http: httpx.Client, admin_token: str,
                                           make_member: Any) -> None:
    auth = {"X-Auth-Token": admin_token}
    member = make_member("reader")  # reader on its own project, directly
    role = http.post(f"{V3}/roles", headers=auth,
                     json={"role": {"name": unique("grp-role")}}).json()["role"]
    group = http.post(f"{V3}/groups", headers=auth,
                      json={"group": {"name": unique("grp")}}).json()["group"]
    grant = f"{V3}/projects/{member.project_id}/groups/{group['id']}/roles/{role['id']}"
    assert http.put(grant, headers=auth).status_code == 204
    membership = f"{V3}/groups/{group['id']}/users/{member.user_id}"
    assert http.put(membership, headers=auth).status_code == 204

    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    assert _role_names(validate(http, admin_token, token)) == {"reader", role["name"]}
    assert http.delete(membership, headers=auth).status_code == 204
    assert _role_names(validate(http, admin_token, token)) == {"reader"}  # at once

    # a project reached only through a group: its token ends when the group does
    project = http.post(f"{V3}/projects", headers=auth,
                        json={"project": {"name": unique("grp-proj")}}).json()["project"]
    assert http.put(f"{V3}/projects/{project['id']}/groups/{group['id']}/roles/{role['id']}",
                    headers=auth).status_code == 204
    assert http.put(membership, headers=auth).status_code == 204
    scoped = issue(http, member.password_auth({"project": {"id": project["id"]}}))
    assert scoped.status_code == 201, scoped.text
    scoped_token = scoped.headers["X-Subject-Token"]
    assert _role_names(validate(http, admin_token, scoped_token)) == {role["name"]}
    mine = http.get(f"{V3}/auth/projects", headers={"X-Auth-Token": scoped_token}).json()
    assert project["id"] in {x["id"] for x in mine["projects"]}
    assert http.delete(f"{V3}/groups/{group['id']}", headers=auth).status_code == 204
    assert validate(http, admin_token, scoped_token).status_code == 404
    assert http.get(f"{V3}/role_assignments", headers=auth,
                    params={"group.id": group["id"]}).json()["role_assignments"] == []
    assert issue(http, member.password_auth({"project": {"id": project["id"]}})
                 ).status_code == 401


def test_group_bad_input_and_policy(http: httpx.Client, admin_token: str,
                                    make_member: Any) -> None:
    auth = {"X-Auth-Token": admin_token}
    name = unique("grp")
    group = http.post(f"{V3}/groups", headers=auth, json={"group": {"name": name}})
    assert group.status_code == 201
    gid = group.json()["group"]["id"]
    dup = http.post(f"{V3}/groups", headers=auth, json={"group": {"name": name}})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == 409
    for body in ({"group": {}}, {"group": {"name": ""}}, {"group": {"name": 5}}, {"name": "x"},
                 {"group": {"name": "x", "description": 5}}):
        assert http.post(f"{V3}/groups", headers=auth, json=body).status_code == 400, body
    elsewhere = http.post(f"{V3}/groups", headers=auth,
                          json={"group": {"name": "x", "domain_id": "no-such-domain"}})
    assert elsewhere.status_code == 404

    member = make_member()
    role_id = http.get(f"{V3}/roles", params={"name": "member"},
                       headers=auth).json()["roles"][0]["id"]
    for path in (f"/groups/no-such-group/users/{member.user_id}", f"/groups/{gid}/users/nobody",
                 f"/projects/{member.project_id}/groups/no-such-group/roles/{role_id}",
                 f"/projects/{member.project_id}/groups/{gid}/roles/no-such-role",
                 f"/projects/no-such-project/groups/{gid}/roles/{role_id}",
                 f"/domains/no-such-domain/groups/{gid}/roles/{role_id}"):
        missing = http.put(V3 + path, headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == 404, path
    for path in ("/groups/no-such-group", "/groups/no-such-group/users",
                 "/users/nobody/groups", "/groups/no-such-group%00"):
        assert http.get(V3 + path, headers=auth).status_code == 404, path
    assert http.delete(f"{V3}/groups/no-such-group", headers=auth).status_code == 404

    assert http.put(f"{V3}/groups/{gid}/users/{member.user_id}", headers=auth).status_code == 204
    token = {"X-Auth-Token": issue(http, member.password_auth()).headers["X-Subject-Token"]}
    own = http.get(f"{V3}/users/{member.user_id}/groups", headers=token)
    assert own.status_code == 200 and [g["id"] for g in own.json()["groups"]] == [gid]
    for call in (http.post(f"{V3}/groups", headers=token, json={"group": {"name": "mine"}}),
                 http.get(f"{V3}/groups", headers=token),
                 http.get(f"{V3}/groups/{gid}", headers=token),
                 http.get(f"{V3}/groups/no-such-group", headers=token),
                 http.patch(f"{V3}/groups/{gid}", headers=token,
                            json={"group": {"name": "mine"}}),
                 http.delete(f"{V3}/groups/{gid}", headers=token),
                 http.get(f"{V3}/groups/{gid}/users", headers=token),
                 http.put(f"{V3}/groups/{gid}/users/{member.user_id}", headers=token),
                 http.delete(f"{V3}/groups/{gid}/users/{member.user_id}", headers=token),
                 http.get(f"{V3}/users/{issue_admin_id(http, auth)}/groups", headers=token),
                 http.put(f"{V3}/projects/{member.project_id}/groups/{gid}/roles/{role_id}",
                          headers=token)):
        assert call.status_code == 403 and call.json()["error"]["code"] == 403, call.request.url
    assert http.head(f"{V3}/groups/{gid}/users/{member.user_id}",
                     headers=token).status_code == 403


def issue_admin_id(http: httpx.Client, auth: dict[str, str]) -> str:
    return http.get(f"{V3}/users", params={"name": "admin"}, headers=auth).json()["users"][0]["id"]


def test_deletes_take_memberships_and_groups(srv: RunningServer, http: httpx.Client,
                                             admin_token: str) -> None:
    auth = {"X-Auth-Token": admin_token}
    gid = http.post(f"{V3}/groups", headers=auth,
                    json={"group": {"name": unique("grp")}}).json()["group"]["id"]
    uid = http.post(f"{V3}/users", headers=auth,
                    json={"user": {"name": unique("grp-user")}}).json()["user"]["id"]
    assert http.put(f"{V3}/groups/{gid}/users/{uid}", headers=auth).status_code == 204
    assert http.delete(f"{V3}/users/{uid}", headers=auth).status_code == 204
    assert http.get(f"{V3}/groups/{gid}/users", headers=auth).json()["users"] == []

    domain = http.post(f"{V3}/domains", headers=auth,
                       json={"domain": {"name": unique("grp-dom")}}).json()["domain"]
    in_domain = http.post(f"{V3}/groups", headers=auth, json={"group": {
        "name": unique("grp"), "domain_id": domain["id"]}}).json()["group"]
    assert in_domain["domain_id"] == domain["id"]
    # same name, another domain: allowed (names are unique per domain)
    assert http.post(f"{V3}/groups", headers=auth, json={"group": {
        "name": in_domain["name"]}}).status_code == 201
    role_id = http.get(f"{V3}/roles", params={"name": "reader"},
                       headers=auth).json()["roles"][0]["id"]
    assert http.put(f"{V3}/domains/{domain['id']}/groups/{in_domain['id']}/roles/{role_id}",
                    headers=auth).status_code == 204
    assert http.put(f"{V3}/domains/{domain['id']}/groups/{gid}/roles/{role_id}",
                    headers=auth).status_code == 204
    assert http.patch(f"{V3}/domains/{domain['id']}", headers=auth,
                      json={"domain": {"enabled": False}}).status_code == 200
    assert http.delete(f"{V3}/domains/{domain['id']}", headers=auth).status_code == 204
    assert http.get(f"{V3}/groups/{in_domain['id']}", headers=auth).status_code == 404
    assert http.get(f"{V3}/role_assignments", headers=auth,
                    params={"group.id": gid}).json()["role_assignments"] == []
