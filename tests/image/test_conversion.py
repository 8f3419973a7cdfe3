"""qcow2 into an rbd store becomes raw (RBD boots only raw); into a local store it stays qcow2.

`checksum` stays the md5 of what was uploaded (openstacksdk checks it after `image create`),
`os_hash_value` and `size` describe the raw bytes that downloads return (every client verifies
downloads with os_hash_value), and the upload is recorded in os_glance_uploaded_*.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from server import RunningServer, openstack, openstack_json

from cowcloud.config import Settings

from .helpers import Api, glance, leftovers, make_qcow2, md5, pattern, sha512, unique


def _rbd_info(settings: Settings, cluster: str, pool: str, name: str) -> dict:
    spec = settings.clusters[cluster]
    out = subprocess.run(["rbd", "--conf", str(spec.conf), "--id", spec.user,
                          "--keyring", str(spec.keyring), "info", "--format", "json",
                          f"{pool}/{name}"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_qcow2_upload_to_rbd_is_converted(admin: Api, settings: Settings, tmp_path: Path,
                                          srv: RunningServer) -> None:
    raw = pattern(2 << 20) + bytes(6 << 20) + pattern(1 << 20, seed=5)
    qcow2 = make_qcow2(tmp_path, raw).read_bytes()
    iid = admin.create(disk_format="qcow2")["id"]
    assert admin.upload(iid, qcow2).status_code == 204
    image = admin.image(iid)
    assert image["disk_format"] == "raw"
    assert image["size"] == image["virtual_size"] == len(raw)
    assert image["checksum"] == md5(qcow2)
    assert image["os_hash_value"] == sha512(raw)
    assert image["os_glance_uploaded_disk_format"] == "qcow2"
    assert image["os_glance_uploaded_size"] == str(len(qcow2))
    assert image["os_glance_uploaded_os_hash_value"] == sha512(qcow2)
    got = admin.get(f"/v2/images/{iid}/file")
    assert got.content == raw and "content-md5" not in got.headers
    assert _rbd_info(settings, "ceph0", "images", iid)["size"] == len(raw)
    assert leftovers(settings, iid) == {"central": [iid]}  # the ID.convert work device is gone
    # glanceclient verifies the download against os_hash_value: it must pass
    out = tmp_path / "down"
    glance(srv.url, "admin", srv.admin_password, "admin", "image-download", iid,
           "--file", str(out))
    assert out.read_bytes() == raw
    # copies keep the converted bytes (copy-image runs no conversion)
    assert admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                         "stores": ["edge"]}).status_code == 202
    admin.wait_tasks(iid)
    admin.delete(f"/v2/stores/central/{iid}")
    assert admin.get(f"/v2/images/{iid}/file").content == raw
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_qcow2_stays_qcow2_in_a_local_store(local_admin: Api, local_settings: Settings,
                                            tmp_path: Path) -> None:
    qcow2 = make_qcow2(tmp_path, pattern(1 << 20)).read_bytes()
    iid = local_admin.create(disk_format="qcow2")["id"]
    assert local_admin.upload(iid, qcow2, store="edge").status_code == 204
    image = local_admin.image(iid)
    assert image["disk_format"] == "qcow2" and image["size"] == len(qcow2)
    assert image["virtual_size"] == 1 << 20
    assert image["checksum"] == md5(qcow2) and image["os_hash_value"] == sha512(qcow2)
    assert local_admin.get(f"/v2/images/{iid}/file").content == qcow2
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}


def test_glance_direct_qcow2_to_rbd_and_local(admin: Api, settings: Settings,
                                              tmp_path: Path) -> None:
    """Converted once for the rbd store; the local store gets the same raw bytes."""
    raw = pattern(3 << 20, seed=8)
    qcow2 = make_qcow2(tmp_path, raw).read_bytes()
    iid = admin.create(disk_format="qcow2")["id"]
    assert admin.put(f"/v2/images/{iid}/stage", content=qcow2,
                     headers={"Content-Type": "application/octet-stream"}).status_code == 204
    assert admin.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "glance-direct"}, "stores": ["edge", "dcn0"]}).status_code == 202
    assert admin.wait_tasks(iid)[0]["status"] == "success"
    image = admin.image(iid)
    assert image["disk_format"] == "raw" and image["os_hash_value"] == sha512(raw)
    assert image["checksum"] == md5(qcow2)
    assert sorted(leftovers(settings, iid)) == ["dcn0", "edge"]
    assert admin.get(f"/v2/images/{iid}/file").content == raw  # from one store...
    assert admin.delete(f"/v2/stores/dcn0/{iid}").status_code == 204
    assert admin.get(f"/v2/images/{iid}/file").content == raw  # ...and from the other
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_openstack_image_create_qcow2(srv: RunningServer, admin: Api, settings: Settings,
                                      tmp_path: Path) -> None:
    """`openstack image create --file` checks `checksum` against the file it sent and deletes
    the image when they differ: conversion must not break it."""
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    raw = pattern(2 << 20, seed=6)
    path = make_qcow2(tmp_path, raw, "cirros.qcow2")
    name = unique("osc")
    created = openstack_json(clouds, "image", "create", "--disk-format", "qcow2",
                             "--container-format", "bare", "--file", str(path), name)
    shown = openstack_json(clouds, "image", "show", created["id"])
    assert shown["status"] == "active" and shown["disk_format"] == "raw"
    assert shown["checksum"] == md5(path.read_bytes())
    out = tmp_path / "saved"
    openstack(clouds, "image", "save", "--file", str(out), created["id"])  # verifies sha512
    assert out.read_bytes() == raw
    openstack(clouds, "image", "delete", created["id"])
    assert leftovers(settings, created["id"]) == {}
