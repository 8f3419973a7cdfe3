"""Who sees and touches what: another project's private image is 404 on every route; sharing
works through members; only admin publicizes."""

from __future__ import annotations

from pathlib import Path

from server import RunningServer, openstack, openstack_json

from cowcloud.config import Settings

from .helpers import leftovers, pattern


def _routes(iid: str) -> list[tuple[str, str, dict]]:
    patch = {"content": b'[{"op": "replace", "path": "/name", "value": "x"}]',
             "headers": {"Content-Type": "application/openstack-images-v2.1-json-patch"}}
    octet = {"headers": {"Content-Type": "application/octet-stream"}, "content": b"data"}
    return [
        ("GET", f"/v2/images/{iid}", {}), ("PATCH", f"/v2/images/{iid}", patch),
        ("DELETE", f"/v2/images/{iid}", {}), ("GET", f"/v2/images/{iid}/file", {}),
        ("PUT", f"/v2/images/{iid}/file", octet), ("PUT", f"/v2/images/{iid}/stage", octet),
        ("POST", f"/v2/images/{iid}/import", {"json": {"method": {"name": "copy-image"},
                                                       "stores": ["dcn0"]}}),
        ("POST", f"/v2/images/{iid}/import", {"json": {"method": {"name": "web-download",
                                                                  "uri": "http://x.org/"}}}),
        ("PUT", f"/v2/images/{iid}/tags/t", {}), ("DELETE", f"/v2/images/{iid}/tags/t", {}),
        ("GET", f"/v2/images/{iid}/members", {}),
        ("POST", f"/v2/images/{iid}/members", {"json": {"member": "x"}}),
        ("GET", f"/v2/images/{iid}/tasks", {}),
        ("POST", f"/v2/images/{iid}/actions/deactivate", {}),
        ("DELETE", f"/v2/stores/central/{iid}", {}),
    ]


def test_private_image_is_invisible_to_others(local_alice, local_bob,
                                              local_settings: Settings) -> None:
    for visibility in ("private", "shared"):
        iid = local_alice.api.create(visibility=visibility, name="secret")["id"]
        assert local_alice.api.upload(iid, pattern(4096)).status_code == 204
        for method, path, kw in _routes(iid):
            resp = local_bob.api.request(method, path, **kw)
            assert resp.status_code == 404, (method, path, resp.status_code, resp.text)
        listed = local_bob.api.get("/v2/images?visibility=all").json()["images"]
        assert iid not in {i["id"] for i in listed}
        image = local_alice.api.image(iid)
        assert image["name"] == "secret" and image["status"] == "active"
        assert local_alice.api.get(f"/v2/images/{iid}/file").content == pattern(4096)
        local_alice.api.delete(f"/v2/images/{iid}")
        assert leftovers(local_settings, iid) == {}


def test_members_flow(local_alice, local_bob) -> None:
    iid = local_alice.api.create(visibility="shared")["id"]
    local_alice.api.upload(iid, pattern(2048))
    resp = local_alice.api.post(f"/v2/images/{iid}/members", json={"member": local_bob.project_id})
    assert resp.status_code == 200, resp.text
    member = resp.json()
    assert member["status"] == "pending" and member["schema"] == "/v2/schemas/member"
    assert local_alice.api.post(f"/v2/images/{iid}/members",
                                json={"member": local_bob.project_id}).status_code == 409
    # pending: bob may read it by id but it is not in his default list
    assert local_bob.api.get(f"/v2/images/{iid}").status_code == 200
    assert iid not in {i["id"] for i in local_bob.api.get("/v2/images").json()["images"]}
    assert iid in {i["id"] for i in
                   local_bob.api.get("/v2/images?member_status=pending").json()["images"]}
    # only the member decides its status, the owner cannot
    path = f"/v2/images/{iid}/members/{local_bob.project_id}"
    assert local_alice.api.put(path, json={"status": "accepted"}).status_code == 403
    assert local_bob.api.put(path, json={"status": "maybe"}).status_code == 400
    assert local_bob.api.put(path, json={"status": "accepted"}).json()["status"] == "accepted"
    assert iid in {i["id"] for i in local_bob.api.get("/v2/images").json()["images"]}
    assert local_bob.api.get(f"/v2/images/{iid}/file").content == pattern(2048)
    # a member reads but does not change or delete
    assert local_bob.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/name",
                                                      "value": "mine"}]).status_code == 403
    assert local_bob.api.delete(f"/v2/images/{iid}").status_code == 403
    assert local_bob.api.post(f"/v2/images/{iid}/members",
                              json={"member": "someone"}).status_code == 403
    members = local_bob.api.get(f"/v2/images/{iid}/members").json()["members"]
    assert [m["member_id"] for m in members] == [local_bob.project_id]
    assert local_alice.api.get(path).json()["status"] == "accepted"
    # private again: members no longer see it
    local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/visibility",
                                                 "value": "private"}])
    assert local_bob.api.get(f"/v2/images/{iid}").status_code == 404
    assert local_alice.api.post(f"/v2/images/{iid}/members",
                                json={"member": "x"}).status_code == 403  # only shared images
    local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/visibility",
                                                 "value": "shared"}])
    assert local_alice.api.delete(path).status_code == 204
    assert local_bob.api.get(f"/v2/images/{iid}").status_code == 404
    local_alice.api.delete(f"/v2/images/{iid}")


def test_visibility_rules(local_alice, local_bob, local_admin) -> None:
    assert local_alice.api.post("/v2/images", json={"visibility": "public"}).status_code == 403
    assert local_alice.api.post("/v2/images",
                                json={"owner": local_bob.project_id}).status_code == 403
    iid = local_alice.api.create()["id"]
    assert local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/visibility",
                                                         "value": "public"}]).status_code == 403
    assert local_alice.api.patch(f"/v2/images/{iid}", [{
        "op": "replace", "path": "/owner", "value": local_bob.project_id}]).status_code == 403
    assert local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/visibility",
                                                         "value": "community"}]).status_code == 200
    assert local_bob.api.get(f"/v2/images/{iid}").status_code == 200  # community: readable
    assert iid not in {i["id"] for i in local_bob.api.get("/v2/images").json()["images"]}
    assert iid in {i["id"] for i in
                   local_bob.api.get("/v2/images?visibility=community").json()["images"]}
    assert local_admin.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/visibility",
                                                    "value": "public"}]).status_code == 200
    assert iid in {i["id"] for i in local_bob.api.get("/v2/images").json()["images"]}
    assert local_bob.api.delete(f"/v2/images/{iid}").status_code == 403
    # copy-image is admin-only (Glance's default policy), even for the owner
    local_alice.api.upload(iid, pattern(100))
    assert local_alice.api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["dcn0"]}).status_code == 403
    local_alice.api.delete(f"/v2/images/{iid}")


def test_openstack_cli_as_a_member(local_srv: RunningServer, local_alice, local_bob,
                                   local_clouds_yaml: Path, tmp_path: Path) -> None:
    alice, bob = local_alice, local_bob
    local_srv.write_clouds_yaml(local_clouds_yaml,
                                alice=local_srv.cloud(alice.name, alice.password, alice.project),
                                bob=local_srv.cloud(bob.name, bob.password, bob.project))
    disk = tmp_path / "d.raw"
    disk.write_bytes(pattern(1 << 20, seed=3))
    made = openstack_json(local_clouds_yaml, "image", "create", "--private", "--disk-format", "raw",
                          "--file", str(disk), "alice-img", cloud="alice")
    listed = openstack_json(local_clouds_yaml, "image", "list", cloud="alice")
    assert made["id"] in {i["ID"] for i in listed}
    openstack(local_clouds_yaml, "image", "set", "--property", "os_distro=debian", "--tag", "x",
              made["id"], cloud="alice")
    shown = openstack_json(local_clouds_yaml, "image", "show", made["id"], cloud="alice")
    assert shown["properties"]["os_distro"] == "debian" and shown["tags"] == ["x"]
    assert shown["owner"] == local_alice.project_id and shown["visibility"] == "private"
    # another project's member neither sees nor touches it; the admin does
    assert made["id"] not in {i["ID"] for i in openstack_json(local_clouds_yaml, "image", "list",
                                                              cloud="bob")}
    for verb in (("image", "show"), ("image", "delete"), ("image", "set", "--name", "x")):
        refused = openstack(local_clouds_yaml, *verb, made["id"], cloud="bob", check=False)
        assert refused.returncode != 0, f"bob could run {verb}"
    assert openstack_json(local_clouds_yaml, "image", "show", made["id"])["name"] == "alice-img"
    admin_made = openstack_json(local_clouds_yaml, "image", "create", "--disk-format", "raw",
                                "--file", str(disk), "admin-img")
    shown = openstack_json(local_clouds_yaml, "image", "show", admin_made["id"])
    assert shown["status"] == "active"
    openstack(local_clouds_yaml, "image", "delete", admin_made["id"])
    openstack(local_clouds_yaml, "image", "delete", made["id"], cloud="alice")
