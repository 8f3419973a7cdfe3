"""The headline flows with the real `openstack` CLI, as a user types them."""

from __future__ import annotations

from pathlib import Path

import httpx
from server import RunningServer, openstack, openstack_json

from .conftest import unique, validate


def test_admin_reads_identity_and_catalog(srv: RunningServer, clouds_yaml: Path) -> None:
    token = openstack_json(clouds_yaml, "token", "issue")
    assert token["id"] and token["project_id"] and token["user_id"]

    catalog = {s["Type"]: s for s in openstack_json(clouds_yaml, "catalog", "list")}
    assert set(catalog) >= {"identity", "image"}
    image_endpoints = catalog["image"]["Endpoints"]
    assert {e["interface"] for e in image_endpoints} == {"public", "internal", "admin"}
    assert {e["region"] for e in image_endpoints} == {srv.settings.server.region}
    assert {e["url"] for e in image_endpoints} == {f"{srv.url}/image"}

    assert "admin" in {p["Name"] for p in openstack_json(clouds_yaml, "project", "list")}
    assert "admin" in {u["Name"] for u in openstack_json(clouds_yaml, "user", "list")}
    assert {"admin", "member", "reader"} <= {
        r["Name"] for r in openstack_json(clouds_yaml, "role", "list")}
    rows = openstack_json(clouds_yaml, "role", "assignment", "list", "--names")
    assert any((r["Role"], r["User"], r["Project"]) == ("admin", "admin@Default", "admin@Default")
               for r in rows), rows
    assert [d["ID"] for d in openstack_json(clouds_yaml, "domain", "list")] == ["default"]


def test_catalog_resources_list(srv: RunningServer, clouds_yaml: Path) -> None:
    endpoints = openstack_json(clouds_yaml, "endpoint", "list")
    assert {(e["Service Type"], e["Interface"]) for e in endpoints} >= {
        ("identity", "public"), ("image", "admin")}
    assert {s["Type"] for s in openstack_json(clouds_yaml, "service", "list")} >= {
        "identity", "image"}
    assert [r["Region"] for r in openstack_json(clouds_yaml, "region", "list")] == [
        srv.settings.server.region]


def test_admin_creates_member_who_is_refused_admin_calls(
        srv: RunningServer, tmp_path: Path, http: httpx.Client) -> None:
    project, user, password = unique("cli-proj"), unique("cli-user"), "cli-member-pw"
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml", member=srv.cloud(
        username=user, password=password, project=project))
    created = openstack_json(clouds, "project", "create", project)
    openstack(clouds, "user", "create", "--password", password, "--project", project, user)
    openstack(clouds, "role", "add", "--user", user, "--project", project, "member")

    token = openstack_json(clouds, "token", "issue", cloud="member")
    assert token["project_id"] == created["id"]

    for args in (["user", "list"], ["project", "create", unique("nope")]):
        refused = openstack(clouds, *args, cloud="member", check=False)
        assert refused.returncode != 0
        assert "403" in refused.stderr, refused.stderr

    admin = openstack_json(clouds, "token", "issue")["id"]
    assert validate(http, admin, token["id"]).status_code == 200
    openstack(clouds, "token", "revoke", token["id"])
    assert validate(http, admin, token["id"]).status_code == 404
    refused = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token["id"]})
    assert refused.status_code == 401
