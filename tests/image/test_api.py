"""Image records over HTTP: create, show, list (filters, sorting, pages), patch, tags, actions,
discovery and schemas, and the refusals Glance gives."""

from __future__ import annotations

import uuid

import httpx
import pytest
from server import RunningServer

from cowcloud.config import Settings

from .helpers import Api, leftovers, pattern, unique


def test_version_discovery(local_srv: RunningServer) -> None:
    root = httpx.get(f"{local_srv.url}/image")
    assert root.status_code == 300
    versions = root.json()["versions"]
    current = [v for v in versions if v["status"] == "CURRENT"]
    assert len(current) == 1 and current[0]["id"].startswith("v2.")
    assert current[0]["links"][0]["href"] == f"{local_srv.url}/image/v2/"
    assert httpx.get(f"{local_srv.url}/image/versions").status_code == 200
    assert httpx.get(f"{local_srv.url}/image/v2/").status_code == 300  # the advertised href


def test_trailing_slash_is_an_empty_id_not_a_redirect(local_admin: Api) -> None:
    """tempest's test_get/delete_image_null_id: Glance answers 404, not a 307 to the list."""
    for method in ("GET", "DELETE"):
        resp = local_admin.request(method, "/v2/images/")
        assert resp.status_code == 404, (method, resp.status_code, resp.headers)


def test_discovery_and_schemas(admin: Api, alice) -> None:
    stores = admin.get("/v2/info/stores").json()["stores"]
    assert {"id": "central", "description": "central rbd glance store", "default": "true"} \
        in stores
    detail = {s["id"]: s for s in admin.get("/v2/info/stores/detail").json()["stores"]}
    assert detail["central"]["type"] == "rbd"
    assert detail["central"]["properties"]["pool"] == "images"
    assert len(detail["central"]["properties"]["fsid"]) == 36
    assert detail["edge"]["type"] == "local"
    assert alice.api.get("/v2/info/stores/detail").status_code == 403
    assert alice.api.get("/v2/info/stores").status_code == 200
    methods = admin.get("/v2/info/import").json()["import-methods"]["value"]
    assert methods == ["glance-direct", "web-download", "copy-image"]
    for name in ("image", "images", "member", "members"):
        schema = admin.get(f"/v2/schemas/{name}").json()
        assert schema["name"] == name
    assert admin.get("/v2/schemas/image").json()["additionalProperties"] == {"type": "string"}
    assert httpx.get(f"{admin.url}/image/v2/images").status_code == 401


def test_create_show_and_headers(local_admin: Api) -> None:
    image_id = str(uuid.uuid4())
    resp = local_admin.post("/v2/images", json={"id": image_id, "name": "x", "disk_format": "qcow2",
                                                "container_format": "bare", "tags": ["a", "b"],
                                                "os_distro": "debian", "min_ram": 512})
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"].endswith(f"/image/v2/images/{image_id}")
    assert resp.headers["openstack-image-import-methods"] == \
        "glance-direct,web-download,copy-image"
    assert resp.headers["openstack-image-store-ids"] == "central,dcn0,edge,central-b"
    image = resp.json()
    assert image["status"] == "queued" and image["visibility"] == "shared"
    assert image["os_distro"] == "debian" and image["tags"] == ["a", "b"]
    assert image["self"] == f"/v2/images/{image_id}"
    assert image["file"] == f"/v2/images/{image_id}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["owner"] == local_admin.project_id and image["min_ram"] == 512
    assert image["size"] is None and image["checksum"] is None
    assert local_admin.post("/v2/images", json={"id": image_id}).status_code == 409
    local_admin.delete(f"/v2/images/{image_id}")
    # a deleted image's id is never reused (its device may still carry that name)
    assert local_admin.post("/v2/images", json={"id": image_id}).status_code == 409


@pytest.mark.parametrize("body, status", [
    ({"status": "active"}, 403), ({"checksum": "x"}, 403), ({"size": 1}, 403),
    ({"stores": "central"}, 403), ({"direct_url": "rbd://x"}, 403),
    ({"locations": []}, 403), ({"os_glance_foo": "1"}, 403), ({"deleted": "1"}, 403),
    ({"disk_format": "floppy"}, 400), ({"visibility": "everyone"}, 400),
    ({"min_ram": -1}, 400), ({"name": 3}, 400), ({"os_distro": 5}, 400),
    ({"id": "not-a-uuid"}, 400), ({"protected": "yes"}, 400),
])
def test_create_refusals(local_admin: Api, body: dict, status: int) -> None:
    resp = local_admin.post("/v2/images", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"].startswith(str(status))  # Glance's error shape


def test_bad_bodies(local_admin: Api) -> None:
    big = {"name": "x", "junk": "a" * (1 << 20)}
    assert local_admin.post("/v2/images", json=big).status_code == 413
    assert local_admin.post("/v2/images", content=b"{not json").status_code == 400
    assert local_admin.post("/v2/images", content=b"[1, 2]").status_code == 400
    image = local_admin.create()
    huge = [{"op": "add", "path": f"/p{i}", "value": "v" * 100} for i in range(10000)]
    assert local_admin.patch(f"/v2/images/{image['id']}", huge).status_code == 413
    local_admin.delete(f"/v2/images/{image['id']}")


@pytest.mark.parametrize("path", [
    "/v2/images/not-a-uuid", "/v2/images/not-a-uuid/file", "/v2/images/../../etc",
    f"/v2/images/{uuid.uuid4()}", f"/v2/images/{uuid.uuid4()}/members",
    f"/v2/images/{uuid.uuid4()}/tasks"])
def test_unknown_and_malformed_ids_are_404(local_admin: Api, path: str) -> None:
    assert local_admin.get(path).status_code == 404
    if path.count("/") == 3:
        assert local_admin.delete(path).status_code == 404
        assert local_admin.patch(path, []).status_code == 404
        assert local_admin.upload(path.rsplit("/", 1)[1], b"x").status_code == 404


def test_patch(local_admin: Api) -> None:
    image = local_admin.create(name="before", os_distro="debian")
    iid = image["id"]
    ops = [{"op": "replace", "path": "/name", "value": "after"},
           {"op": "add", "path": "/os_version", "value": "12"},
           {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
           {"op": "add", "path": "/protected", "value": True},
           {"op": "replace", "path": "/tags", "value": ["x", "y"]},
           {"op": "replace", "path": "/min_disk", "value": 4}]
    resp = local_admin.patch(f"/v2/images/{iid}", ops)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["name"], got["os_version"], got["os_distro"], got["protected"], got["tags"],
            got["min_disk"]) == ("after", "12", "ubuntu", True, ["x", "y"], 4)
    resp = local_admin.patch(f"/v2/images/{iid}", [{"op": "remove", "path": "/os_version"}])
    assert "os_version" not in resp.json()
    # the deprecated v2.0 form still works
    resp = local_admin.request("PATCH", f"/v2/images/{iid}", content=b'[{"replace": "/name", '
                               b'"value": "v20"}]', headers={
                             "Content-Type": "application/openstack-images-v2.0-json-patch"})
    assert resp.json()["name"] == "v20"
    # protected: delete refused
    assert local_admin.delete(f"/v2/images/{iid}").status_code == 403
    local_admin.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/protected",
                                             "value": False}])
    assert local_admin.delete(f"/v2/images/{iid}").status_code == 204


@pytest.mark.parametrize("ops, status", [
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/stores", "value": "central"}], 403),
    ([{"op": "add", "path": "/stores", "value": "central"}], 403),
    ([{"op": "replace", "path": "/checksum", "value": "0" * 32}], 403),
    ([{"op": "replace", "path": "/size", "value": 1}], 403),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
    ([{"op": "remove", "path": "/os_hash_value"}], 403),
    ([{"op": "add", "path": "/direct_url", "value": "rbd://a/b/c/d"}], 403),
    ([{"op": "replace", "path": "/locations", "value": []}], 403),
    ([{"op": "add", "path": "/os_glance_importing_to_stores", "value": "x"}], 403),
    ([{"op": "add", "path": "/location", "value": "x"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "replace", "path": "/owner", "value": "someone"}], 200),  # admin may
    ([{"op": "replace", "path": "/nonexistent", "value": "x"}], 409),
    ([{"op": "remove", "path": "/nonexistent"}], 409),
    ([{"op": "move", "path": "/name", "value": "x"}], 400),
    ([{"op": "add", "path": "/a/b", "value": "x"}], 400),
    ([{"op": "add", "path": "name", "value": "x"}], 400),
    ([{"op": "add", "path": "/name"}], 400),
    ([{"op": "add", "path": "/visibility", "value": "everyone"}], 400),
    ({"op": "add"}, 400),
])
def test_patch_refusals(local_admin: Api, ops: object, status: int) -> None:
    image = local_admin.create()
    resp = local_admin.patch(f"/v2/images/{image['id']}", ops)
    assert resp.status_code == status, resp.text
    if status != 200:
        assert local_admin.image(image["id"])["status"] == "queued"
    local_admin.delete(f"/v2/images/{image['id']}")


def test_patch_needs_patch_media_type(local_admin: Api) -> None:
    image = local_admin.create()
    resp = local_admin.request("PATCH", f"/v2/images/{image['id']}", json=[])
    assert resp.status_code == 415
    assert "openstack-images-v2.1-json-patch" in resp.headers["accept-patch"]
    local_admin.delete(f"/v2/images/{image['id']}")


def test_formats_change_only_while_queued(local_admin: Api, local_settings: Settings) -> None:
    image = local_admin.create()
    iid = image["id"]
    assert local_admin.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/disk_format",
                                               "value": "qcow2"}]).status_code == 200
    local_admin.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/disk_format",
                                             "value": "raw"}])
    assert local_admin.upload(iid, pattern(4096)).status_code == 204
    resp = local_admin.patch(f"/v2/images/{iid}", [{"op": "replace", "path": "/disk_format",
                                                    "value": "qcow2"}])
    assert resp.status_code == 403
    local_admin.delete(f"/v2/images/{iid}")


def test_tags(local_admin: Api) -> None:
    iid = local_admin.create()["id"]
    assert local_admin.put(f"/v2/images/{iid}/tags/blue").status_code == 204
    assert local_admin.put(f"/v2/images/{iid}/tags/blue").status_code == 204
    assert local_admin.put(f"/v2/images/{iid}/tags/green").status_code == 204
    assert local_admin.image(iid)["tags"] == ["blue", "green"]
    assert local_admin.delete(f"/v2/images/{iid}/tags/blue").status_code == 204
    assert local_admin.delete(f"/v2/images/{iid}/tags/blue").status_code == 404
    assert local_admin.image(iid)["tags"] == ["green"]
    local_admin.delete(f"/v2/images/{iid}")


def test_deactivate_reactivate(local_admin: Api, local_alice, local_settings: Settings) -> None:
    iid = local_admin.create(visibility="public")["id"]
    assert local_admin.post(f"/v2/images/{iid}/actions/deactivate").status_code == 403  # queued
    local_admin.upload(iid, pattern(8192))
    assert local_admin.post(f"/v2/images/{iid}/actions/deactivate").status_code == 204
    assert local_admin.image(iid)["status"] == "deactivated"
    assert local_alice.api.get(f"/v2/images/{iid}/file").status_code == 403
    assert local_admin.get(f"/v2/images/{iid}/file").status_code == 200  # admin still may
    assert local_alice.api.post(f"/v2/images/{iid}/actions/reactivate").status_code == 403
    assert local_admin.post(f"/v2/images/{iid}/actions/reactivate").status_code == 204
    assert local_alice.api.get(f"/v2/images/{iid}/file").content == pattern(8192)
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}


def test_list_filters_sorting_and_pages(local_alice) -> None:
    api: Api = local_alice.api
    tag = unique("t")
    made = []
    for i, (fmt, size) in enumerate([("raw", 1000), ("qcow2", None), ("raw", 3000),
                                      ("iso", None), ("raw", 5000)]):
        image = api.create(name=f"{tag}-{i}", disk_format=fmt, tags=[tag],
                           os_distro="debian" if i % 2 else "ubuntu")
        if size:
            assert api.upload(image["id"], pattern(size)).status_code == 204
        made.append(image["id"])
    hidden = api.create(name=f"{tag}-hidden", tags=[tag], os_hidden=True)["id"]

    def ids(query: str) -> list[str]:
        resp = api.get(f"/v2/images?tag={tag}&{query}")
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["images"]]

    assert ids("") == made[::-1]  # created_at desc by default, hidden left out
    assert ids("sort=name:asc") == made
    assert ids("sort_key=name&sort_dir=asc") == made
    assert ids("sort_key=size&sort_dir=asc") == [made[1], made[3], made[0], made[2], made[4]]
    assert ids("sort=disk_format:asc,name:desc") == [made[3], made[1], made[4], made[2],
                                                     made[0]]
    assert ids("disk_format=raw&sort=name:asc") == [made[0], made[2], made[4]]
    assert ids("disk_format=in:qcow2,iso&sort=name:asc") == [made[1], made[3]]
    assert ids("status=active&sort=name:asc") == [made[0], made[2], made[4]]
    assert ids("status=in:queued,saving&sort=name:asc") == [made[1], made[3]]
    assert ids("size_min=2000&size_max=4000") == [made[2]]
    assert ids("os_distro=debian&sort=name:asc") == [made[1], made[3]]
    assert ids(f"name={tag}-2") == [made[2]]
    assert ids("os_hidden=true") == [hidden]
    assert ids("visibility=shared&sort=name:asc") == made
    assert ids("visibility=private") == []
    assert ids("protected=false&sort=name:asc") == made
    # pages: limit + marker, with `next` links to follow
    seen, url = [], f"/v2/images?tag={tag}&sort=name:asc&limit=2"
    while url:
        body = api.get(url).json()
        assert len(body["images"]) <= 2
        seen += [i["id"] for i in body["images"]]
        url = body.get("next")
        if url:
            assert url.startswith("/v2/images?") and "marker=" in url
    assert seen == made
    for bad in ("sort_key=nope", "sort_dir=up", "limit=x", "limit=-1", "marker=" +
                str(uuid.uuid4()), "visibility=everyone", "member_status=maybe",
                "sort=name:asc&sort_key=name", "protected=maybe", "size_min=big",
                "changes-since=2020-01-01"):
        assert api.get(f"/v2/images?{bad}").status_code == 400, bad
    for iid in [*made, hidden]:
        api.delete(f"/v2/images/{iid}")
