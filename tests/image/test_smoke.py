"""Smoke: create, upload, show, download, delete through HTTP, on an rbd and on a local store."""

from __future__ import annotations

from .conftest import ImageServer
from .helpers import leftovers, md5, pattern, sha512


def test_upload_download_delete(each_server: ImageServer) -> None:
    admin, settings = each_server.admin, each_server.settings
    data = pattern(5 << 20)
    image = admin.create()
    resp = admin.upload(image["id"], data)
    assert resp.status_code == 204, resp.text
    shown = admin.image(image["id"])
    assert shown["status"] == "active", shown
    assert shown["checksum"] == md5(data)
    assert shown["os_hash_value"] == sha512(data)
    assert shown["stores"] == "central"
    got = admin.get(f"/v2/images/{image['id']}/file")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-md5"] == md5(data)
    assert admin.delete(f"/v2/images/{image['id']}").status_code == 204
    assert admin.get(f"/v2/images/{image['id']}").status_code == 404
    assert leftovers(settings, image["id"]) == {}
