"""Interoperable import: glance-direct (stage, then import), web-download (with its URL
filtering), the import preconditions and codes (IMP-04), failure handling (IMP-06/07)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowcloud.config import ImageSettings, Settings
from cowcloud.services.images.webdl import UrlRefused, check

from .helpers import Api, leftovers, make_qcow2_with_backing, md5, pattern, sha512


def _import(api: Api, iid: str, method: str, **body: object) -> int:
    payload = {"method": {"name": method, **body.pop("method_extra", {})}, **body}
    return api.post(f"/v2/images/{iid}/import", json=payload).status_code


def test_glance_direct(local_admin: Api, local_settings: Settings) -> None:
    data = pattern(6 << 20, seed=11)
    iid = local_admin.create()["id"]
    assert _import(local_admin, iid, "glance-direct") == 409  # not staged yet
    resp = local_admin.put(f"/v2/images/{iid}/stage", content=data,
                           headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    assert local_admin.image(iid)["status"] == "uploading"
    assert leftovers(local_settings, iid) == {"central": [f"{iid}.stage"]}  # the default store
    assert local_admin.put(f"/v2/images/{iid}/stage", content=data, headers={
        "Content-Type": "application/octet-stream"}).status_code == 409
    req = {"method": {"name": "glance-direct"}, "stores": ["dcn0", "edge"]}
    resp = local_admin.post(f"/v2/images/{iid}/import", json=req)
    assert resp.status_code == 202
    tasks = local_admin.wait_tasks(iid)
    assert tasks[0]["status"] == "success", tasks
    assert tasks[0]["type"] == "api_image_import"
    # the task names the request that made it, and keeps that request as sent (tempest checks)
    assert tasks[0]["request_id"] == resp.headers["x-openstack-request-id"]
    assert tasks[0]["input"]["import_req"] == req
    image = local_admin.image(iid)
    assert image["status"] == "active" and sorted(image["stores"].split(",")) == ["dcn0", "edge"]
    assert image["checksum"] == md5(data) and image["os_hash_value"] == sha512(data)
    assert image["size"] == len(data)
    assert image["os_glance_importing_to_stores"] == "" and "os_glance_import_task" not in image
    assert local_admin.get(f"/v2/images/{iid}/file").content == data
    assert leftovers(local_settings, iid) == {"dcn0": [iid], "edge": [iid]}  # stage gone
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}


def test_stage_refuses_unsafe_data(local_admin: Api, local_settings: Settings,
                                   tmp_path: Path) -> None:
    iid = local_admin.create(disk_format="qcow2")["id"]
    resp = local_admin.put(f"/v2/images/{iid}/stage",
                           content=make_qcow2_with_backing(tmp_path).read_bytes(),
                           headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 400
    assert local_admin.image(iid)["status"] == "queued"
    assert leftovers(local_settings, iid) == {}
    local_admin.delete(f"/v2/images/{iid}")


def test_web_download(local_admin: Api, local_settings: Settings, web: tuple[str, Path]) -> None:
    base, root = web
    data = pattern(5 << 20, seed=12)
    (root / "disk.raw").write_bytes(data)
    iid = local_admin.create()["id"]
    assert _import(local_admin, iid, "web-download", method_extra={"uri": f"{base}/disk.raw"},
                   all_stores_must_succeed=False, stores=["central", "dcn0"]) == 202
    tasks = local_admin.wait_tasks(iid)
    assert tasks[0]["status"] == "success", tasks
    image = local_admin.image(iid)
    assert sorted(image["stores"].split(",")) == ["central", "dcn0"]
    assert image["os_hash_value"] == sha512(data)
    assert leftovers(local_settings, iid) == {"central": [iid], "dcn0": [iid]}
    local_admin.delete(f"/v2/images/{iid}")


def test_web_download_failure_leaves_nothing(local_admin: Api, local_settings: Settings,
                                             web: tuple[str, Path]) -> None:
    base, _ = web
    iid = local_admin.create()["id"]
    assert _import(local_admin, iid, "web-download", method_extra={"uri": f"{base}/missing"}) == 202
    tasks = local_admin.wait_tasks(iid)
    assert tasks[0]["status"] == "failure" and "404" in tasks[0]["message"]
    image = local_admin.image(iid)
    assert image["status"] == "queued"
    assert image["os_glance_failed_import"] == "central"
    assert image["os_glance_importing_to_stores"] == ""
    assert leftovers(local_settings, iid) == {}
    local_admin.delete(f"/v2/images/{iid}")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/x", "http://[::1]/x", "http://192.168.0.1/x", "file:///etc/passwd",
    "ftp://example.org/x", "gopher://x/", "http://"])
def test_web_download_filtering(url: str) -> None:
    with pytest.raises(UrlRefused):
        check(url, ImageSettings())


def test_web_download_refusal_is_400(local_admin: Api) -> None:
    iid = local_admin.create()["id"]
    for uri in ("file:///etc/passwd", "ftp://x/y"):
        assert _import(local_admin, iid, "web-download", method_extra={"uri": uri}) == 400
    assert local_admin.image(iid)["status"] == "queued"
    local_admin.delete(f"/v2/images/{iid}")


def test_import_preconditions(local_admin: Api) -> None:
    iid = local_admin.create()["id"]
    assert _import(local_admin, iid, "copy-image", stores=["dcn0"]) == 409  # not active
    assert _import(local_admin, iid, "no-such-method") == 400
    assert local_admin.post(f"/v2/images/{iid}/import", json={}).status_code == 400
    assert _import(local_admin, iid, "web-download", method_extra={"uri": "http://x/"},
                   all_stores="yes") == 400
    assert _import(local_admin, iid, "web-download", method_extra={"uri": "http://x/"},
                   stores=["dcn0"], all_stores=True) == 400
    assert _import(local_admin, iid, "web-download", method_extra={"uri": "http://x/"},
                   stores=["nowhere"]) == 409
    nofmt = local_admin.create(disk_format=None)["id"]
    assert _import(local_admin, nofmt, "web-download", method_extra={"uri": "http://x/"}) == 409
    local_admin.upload(iid, pattern(100))
    assert _import(local_admin, iid, "web-download", method_extra={"uri": "http://x/"}) == 409
    for i in (iid, nofmt):
        local_admin.delete(f"/v2/images/{i}")


def test_failed_conversion_fails_every_target(admin: Api, settings: Settings, web: tuple[str, Path],
                                 tmp_path: Path) -> None:
    """One target fails (the image is a qcow2 that the rbd store converts, and the qcow2 is
    corrupt past its header): with must-succeed nothing stays; without, the others do."""
    base, root = web
    qcow2 = bytearray(pattern(1 << 20))
    good = make_qcow2_with_backing(tmp_path).read_bytes()[:512]  # a header qemu-img rejects
    qcow2[:len(good)] = good
    qcow2[8:16] = bytes(8)  # no backing file, so the header inspection lets it through
    (root / "corrupt.qcow2").write_bytes(bytes(qcow2))
    iid = admin.create(disk_format="qcow2")["id"]
    assert _import(admin, iid, "web-download", stores=["edge", "dcn0"],
                   method_extra={"uri": f"{base}/corrupt.qcow2"}) == 202
    tasks = admin.wait_tasks(iid)
    assert tasks[0]["status"] == "failure", tasks
    image = admin.image(iid)
    assert image["status"] == "queued" and "stores" not in image
    assert set(image["os_glance_failed_import"].split(",")) == {"edge", "dcn0"}
    assert leftovers(settings, iid) == {}
    admin.delete(f"/v2/images/{iid}")
