"""Deleting and updating roles, and the domain lifecycle (create, disable, delete with its
projects and users), with the real `openstack` CLI as an operator types it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from server import RunningServer, openstack, openstack_json

from .conftest import issue, unique


def test_role_update_and_delete(srv: RunningServer, clouds_yaml: Path, http: httpx.Client,
                                admin_token: str) -> None:
    auth = {"X-Auth-Token": admin_token}
    project, user, role = unique("rd-proj"), unique("rd-user"), unique("rd-role")
    openstack(clouds_yaml, "project", "create", project)
    made_user = openstack_json(clouds_yaml, "user", "create", "--password", "pw", user)
    made = openstack_json(clouds_yaml, "role", "create", role)
    openstack(clouds_yaml, "role", "add", "--user", user, "--project", project, role)
    openstack(clouds_yaml, "role", "add", "--user", user, "--project", project, "reader")

    renamed = unique("rd-renamed")
    openstack(clouds_yaml, "role", "set", "--name", renamed, role)
    assert openstack_json(clouds_yaml, "role", "show", made["id"])["name"] == renamed

    openstack(clouds_yaml, "role", "delete", renamed)
    assert http.get(f"/identity/v3/roles/{made['id']}", headers=auth).status_code == 404
    assert renamed not in {r["Name"] for r in openstack_json(clouds_yaml, "role", "list")}
    left = http.get(f"/identity/v3/role_assignments?user.id={made_user['id']}",
                    headers=auth).json()["role_assignments"]
    reader_id = openstack_json(clouds_yaml, "role", "show", "reader")["id"]
    assert [a["role"]["id"] for a in left] == [reader_id]  # its assignment went, not the others

    missing = http.delete("/identity/v3/roles/no-such-role", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
    # the built-in roles are immutable, as Keystone's bootstrap makes them
    for name in ("admin", "member", "reader"):
        refused = openstack(clouds_yaml, "role", "delete", name, check=False)
        assert refused.returncode != 0 and "immutable" in refused.stderr, refused.stderr
    member_id = openstack_json(clouds_yaml, "role", "show", "member")["id"]
    refused_patch = http.patch(f"/identity/v3/roles/{member_id}", headers=auth,
                               json={"role": {"name": "members"}})
    assert refused_patch.status_code == 403
    assert http.get(f"/identity/v3/roles/{member_id}",
                    headers=auth).json()["role"]["options"] == {"immutable": True}


def test_role_delete_is_admin_only(srv: RunningServer, http: httpx.Client, admin_token: str,
                                   make_member: Any) -> None:
    role = http.post("/identity/v3/roles", headers={"X-Auth-Token": admin_token},
                     json={"role": {"name": unique("rd-keep")}}).json()["role"]
    member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    for call in (http.delete(f"/identity/v3/roles/{role['id']}", headers={"X-Auth-Token": token}),
                 http.patch(f"/identity/v3/roles/{role['id']}", headers={"X-Auth-Token": token},
                            json={"role": {"name": "mine"}})):
        assert call.status_code == 403 and call.json()["error"]["code"] == 403
    assert http.delete(f"/identity/v3/roles/{role['id']}",
                       headers={"X-Auth-Token": admin_token}).status_code == 204


def test_domain_lifecycle(srv: RunningServer, tmp_path: Path, http: httpx.Client,
                          admin_token: str) -> None:
    auth = {"X-Auth-Token": admin_token}
    domain, project, user = unique("dom"), unique("dom-proj"), unique("dom-user")
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml", inside={
        "auth": {"auth_url": srv.auth_url, "username": user, "password": "dom-pw",
                 "user_domain_name": domain, "project_name": project,
                 "project_domain_name": domain},
        "region_name": srv.settings.server.region, "identity_api_version": 3})

    made = openstack_json(clouds, "domain", "create", "--description", "for a test", domain)
    assert made["name"] == domain and made["enabled"] is True
    assert made["description"] == "for a test"
    again = openstack(clouds, "domain", "create", domain, check=False)
    assert again.returncode != 0 and "409" in again.stderr, again.stderr
    made_project = openstack_json(clouds, "project", "create", "--domain", domain, project)
    made_user = openstack_json(clouds, "user", "create", "--domain", domain, "--password",
                               "dom-pw", user)
    openstack(clouds, "role", "add", "--user", user, "--user-domain", domain, "--project",
              project, "--project-domain", domain, "member")
    inside = openstack_json(clouds, "token", "issue", cloud="inside")["id"]
    assert http.get(f"/identity/v3/domains/{made['id']}",  # a project member reads its domain
                    headers={"X-Auth-Token": inside}).status_code == 200

    refused = openstack(clouds, "domain", "delete", domain, check=False)
    assert refused.returncode != 0
    assert "Cannot delete a domain that is enabled, please disable it first." in refused.stderr
    enabled = http.delete(f"/identity/v3/domains/{made['id']}", headers=auth)
    assert enabled.status_code == 403 and enabled.json()["error"] == {
        "code": 403, "title": "Forbidden",
        "message": "Cannot delete a domain that is enabled, please disable it first."}

    openstack(clouds, "domain", "set", "--description", "renamed too", "--name",
              domain + "-x", domain)
    openstack(clouds, "domain", "set", "--disable", domain + "-x")
    shown = openstack_json(clouds, "domain", "show", made["id"])
    assert shown["enabled"] is False and shown["name"] == domain + "-x"
    assert shown["description"] == "renamed too"
    # a disabled domain ends its users' tokens, as in Keystone
    assert http.get("/identity/v3/auth/projects",
                    headers={"X-Auth-Token": inside}).status_code == 401

    openstack(clouds, "domain", "delete", domain + "-x")
    for path in (f"domains/{made['id']}", f"projects/{made_project['id']}",
                 f"users/{made_user['id']}"):
        assert http.get(f"/identity/v3/{path}", headers=auth).status_code == 404, path
    left = http.get(f"/identity/v3/role_assignments?scope.project.id={made_project['id']}",
                    headers=auth).json()["role_assignments"]
    assert left == []
    assert [d["ID"] for d in openstack_json(clouds, "domain", "list")
            if d["ID"] == made["id"]] == []
    gone = http.delete(f"/identity/v3/domains/{made['id']}", headers=auth)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == 404


def test_default_domain_stays(srv: RunningServer, clouds_yaml: Path, http: httpx.Client,
                              admin_token: str, make_member: Any) -> None:
    """It holds the admin: disabling it would lock everyone out, deleting it more so."""
    for args in (["domain", "set", "--disable", "default"], ["domain", "delete", "default"]):
        refused = openstack(clouds_yaml, *args, check=False)
        assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert openstack_json(clouds_yaml, "domain", "show", "default")["enabled"] is True
    auth = {"X-Auth-Token": admin_token}
    assert http.delete("/identity/v3/domains/default", headers=auth).status_code == 403
    assert http.patch("/identity/v3/domains/default", headers=auth, json={
        "domain": {"enabled": False}}).status_code == 403
    assert http.get("/identity/v3/auth/projects", headers=auth).status_code == 200

    member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    for call in (http.post("/identity/v3/domains", headers={"X-Auth-Token": token},
                           json={"domain": {"name": unique("nope")}}),
                 http.patch("/identity/v3/domains/default", headers={"X-Auth-Token": token},
                            json={"domain": {"description": "mine"}}),
                 http.delete("/identity/v3/domains/default", headers={"X-Auth-Token": token})):
        assert call.status_code == 403 and call.json()["error"]["code"] == 403
