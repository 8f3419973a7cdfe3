"""The DCN multi-store guide (seeds/004), step by step, with the real glance and openstack CLIs:
upload to the default store, copy-image to two other stores, `stores` lists all three,
direct_url names the central fsid, delete from one store, delete everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server import RunningServer, openstack_json

from cowcloud.config import Settings

from .helpers import Api, devices, glance, leftovers, md5, pattern, sha512, unique


def _glance(srv: RunningServer, *args: str, check: bool = True) -> Any:
    return glance(srv.url, "admin", srv.admin_password, "admin", *args, check=check)


def _table_value(table: str) -> str:
    """The Value column of a one-property glance table, its wrapped lines joined."""
    rows = [line.split("|") for line in table.splitlines() if line.startswith("|")]
    return "".join(r[2].strip() + (" " if r[2].endswith("  ") else "") for r in rows[1:])


def test_dcn_guide(srv: RunningServer, admin: Api, settings: Settings, ceph_clusters: list[Any],
                   tmp_path: Path) -> None:
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    stores = json.loads(_table_value(_glance(srv, "stores-info").stdout))
    assert {"id": "central", "default": "true", "description": "central rbd glance store"} \
        in stores
    assert {s["id"] for s in stores} == {"central", "dcn0", "edge", "central-b"}

    data = pattern(12 << 20, seed=4)
    disk = tmp_path / "cirros.raw"
    disk.write_bytes(data)
    name = unique("cirros")
    _glance(srv, "image-create", "--disk-format", "raw", "--container-format", "bare",
            "--name", name, "--file", str(disk), "--store", "central")
    image_id = openstack_json(clouds, "image", "show", name)["id"]

    _glance(srv, "image-import", image_id, "--stores", "dcn0,edge",
            "--import-method", "copy-image")
    image = admin.wait(image_id, lambda i: set(i.get("stores", "").split(",")) ==
                       {"central", "dcn0", "edge"} and not i.get("os_glance_importing_to_stores"))
    assert image["stores"].split(",")[0] == "central"

    shown = openstack_json(clouds, "image", "show", image_id)
    props = shown["properties"]
    fsid0, fsid1 = ceph_clusters[0].fsid, ceph_clusters[1].fsid
    assert props["direct_url"] == f"rbd://{fsid0}/images/{image_id}/snap"
    urls = {loc["metadata"]["store"]: loc["url"] for loc in props["locations"]}
    assert urls["central"] == f"rbd://{fsid0}/images/{image_id}/snap"
    assert urls["dcn0"] == f"rbd://{fsid1}/images/{image_id}/snap"
    assert urls["edge"].startswith("local://") and urls["edge"].endswith(
        f"/images/{image_id}/snap")
    assert props["os_glance_importing_to_stores"] == ""
    assert props["os_glance_failed_import"] == ""
    assert shown["checksum"] == md5(data) and props["os_hash_value"] == sha512(data)
    tasks = admin.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]

    # the same protected snapshot in every pool
    found = devices(settings, image_id)
    assert found["central"] == [image_id] and found["dcn0"] == [image_id]
    assert found["edge"] == [image_id]
    out = _glance(srv, "image-download", image_id, "--file", str(tmp_path / "out")).stderr
    assert (tmp_path / "out").read_bytes() == data, out

    # delete from one store, then everywhere
    _glance(srv, "stores-delete", "--store", "dcn0", image_id)
    image = admin.image(image_id)
    assert image["stores"] == "central,edge"
    assert "dcn0" not in json.dumps(image["locations"])
    assert devices(settings, image_id)["dcn0"] == []
    _glance(srv, "image-delete", image_id)
    assert admin.get(f"/v2/images/{image_id}").status_code == 404
    assert leftovers(settings, image_id) == {}


def test_copy_image_errors_and_store_delete_codes(local_admin: Api,
                                                  local_settings: Settings) -> None:
    image = local_admin.create()
    assert local_admin.upload(image["id"], pattern(1 << 20), store="dcn0").status_code == 204
    iid = image["id"]
    # copy to a store it is already in: 400; unknown store: 409
    r = local_admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "stores": ["dcn0"]})
    assert r.status_code == 400, r.text
    r = local_admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "stores": ["nowhere"]})
    assert r.status_code == 409, r.text
    r = local_admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "stores": ["edge"], "all_stores": True})
    assert r.status_code == 400, r.text
    # MS-05: only location 403, not there 404, unknown store 409
    assert local_admin.delete(f"/v2/stores/dcn0/{iid}").status_code == 403
    assert local_admin.delete(f"/v2/stores/central/{iid}").status_code == 404
    assert local_admin.delete(f"/v2/stores/nowhere/{iid}").status_code == 409
    # all_stores: the store it is in is dropped, the rest copied (same-cluster one by clone)
    r = local_admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "all_stores": True})
    assert r.status_code == 202, r.text
    local_admin.wait_tasks(iid)
    image = local_admin.image(iid)
    assert sorted(image["stores"].split(",")) == ["central", "central-b", "dcn0", "edge"]
    assert image["stores"].split(",")[0] == "dcn0"  # direct_url follows the first location
    assert image["direct_url"].endswith(f"/images/{iid}/snap")
    # nothing left to copy: accepted, no task
    r = local_admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "all_stores": True})
    assert r.status_code == 202
    assert len(local_admin.get(f"/v2/images/{iid}/tasks").json()["tasks"]) == 1
    for store in ("central", "central-b", "edge"):
        got = local_admin.get(f"/v2/images/{iid}/file")
        assert got.content == pattern(1 << 20)
        assert local_admin.delete(f"/v2/stores/{store}/{iid}").status_code == 204
    assert local_admin.image(iid)["stores"] == "dcn0"
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}
