"""Image data: streaming upload and download, ranges, hashes, and bad uploads that must leave
nothing behind (no device in any pool, no location, the image queued again)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cowcloud.config import Settings

from .conftest import ImageServer
from .helpers import (
    Api,
    copied_to_dcn0_and_marked,
    glance,
    leftovers,
    make_qcow2,
    make_qcow2_with_backing,
    md5,
    pattern,
    sha512,
)


def _assert_clean(api: Api, settings: Settings, iid: str) -> None:
    image = api.image(iid)
    assert image["status"] == "queued", image
    assert "stores" not in image and image["locations"] == []
    assert image["checksum"] is None and image["size"] is None
    assert leftovers(settings, iid) == {}


@pytest.mark.parametrize("store", ["central", "dcn0", "edge"])
def test_roundtrip_each_store(request: pytest.FixtureRequest, store: str) -> None:
    # central and dcn0 are the Ceph server's rbd stores; edge is local there and on local_srv
    prefix = "local_" if store == "edge" else ""
    admin: Api = request.getfixturevalue(f"{prefix}admin")
    settings: Settings = request.getfixturevalue(f"{prefix}settings")
    # Sparse: a hole in the middle stays a hole, and reads back as zeros.
    data = pattern(3 << 20) + bytes(16 << 20) + pattern(1 << 20, seed=2) + b"tail"
    iid = admin.create()["id"]
    assert admin.upload(iid, data, store=store).status_code == 204
    image = admin.image(iid)
    assert (image["size"], image["virtual_size"]) == (len(data), len(data))
    assert image["checksum"] == md5(data) and image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == sha512(data) and image["stores"] == store
    got = admin.get(f"/v2/images/{iid}/file")
    assert got.content == data and got.headers["content-length"] == str(len(data))
    assert got.headers["content-md5"] == md5(data)
    part = admin.get(f"/v2/images/{iid}/file", headers={"Range": "bytes=1000-4194403"})
    assert part.status_code == 206 and part.content == data[1000:4194404]
    assert part.headers["content-range"] == f"bytes 1000-4194403/{len(data)}"
    tail = admin.get(f"/v2/images/{iid}/file", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    bad = admin.get(f"/v2/images/{iid}/file", headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"
    assert admin.upload(iid, b"again").status_code == 409  # active: no second upload
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_chunked_upload_of_unknown_size(local_admin: Api) -> None:
    data = pattern((9 << 20) + 123, seed=9)

    def body():
        for i in range(0, len(data), 1 << 20):  # glanceclient sends 1 MiB chunks
            yield data[i:i + (1 << 20)]
    iid = local_admin.create()["id"]
    assert local_admin.upload(iid, body()).status_code == 204  # chunked: no Content-Length
    assert local_admin.image(iid)["size"] == len(data)
    assert local_admin.get(f"/v2/images/{iid}/file").content == data
    local_admin.delete(f"/v2/images/{iid}")


def test_no_data_yet_is_204(local_admin: Api) -> None:
    iid = local_admin.create()["id"]
    assert local_admin.get(f"/v2/images/{iid}/file").status_code == 204
    local_admin.delete(f"/v2/images/{iid}")


def test_size_mismatch(local_admin: Api, local_settings: Settings) -> None:
    iid = local_admin.create()["id"]
    resp = local_admin.upload(iid, pattern(1 << 20), **{"x-openstack-image-size": str(2 << 20)})
    assert resp.status_code == 400, resp.text
    _assert_clean(local_admin, local_settings, iid)

    def body():
        yield pattern(3 << 20)
    resp = local_admin.upload(iid, body(), **{"x-openstack-image-size": str(1 << 20)})
    assert resp.status_code == 400, resp.text
    _assert_clean(local_admin, local_settings, iid)
    assert local_admin.upload(iid, pattern(100)).status_code == 204  # still usable
    local_admin.delete(f"/v2/images/{iid}")


def test_truncated_upload(local_admin: Api, local_settings: Settings) -> None:
    """The client announces 8 MiB, sends 3 and goes away: nothing may stay."""
    iid = local_admin.create()["id"]
    host = urlsplit(local_admin.url)
    with socket.create_connection((host.hostname, host.port)) as sock:
        head = (f"PUT /image/v2/images/{iid}/file HTTP/1.1\r\nHost: x\r\n"
                f"X-Auth-Token: {local_admin.token}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {8 << 20}\r\n\r\n").encode()
        sock.sendall(head + pattern(3 << 20))
        deadline = time.monotonic() + 20
        while local_admin.image(iid)["status"] != "saving" and time.monotonic() < deadline:
            time.sleep(0.05)
        sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + 20
    while local_admin.image(iid)["status"] != "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    _assert_clean(local_admin, local_settings, iid)
    local_admin.delete(f"/v2/images/{iid}")


def test_unknown_store(local_admin: Api, local_settings: Settings) -> None:
    iid = local_admin.create()["id"]
    resp = local_admin.upload(iid, pattern(1000), store="nowhere")
    assert resp.status_code == 400 and "nowhere" in resp.json()["message"]
    _assert_clean(local_admin, local_settings, iid)
    resp = local_admin.upload(iid, pattern(1000), store="os_glance_staging_store")
    assert resp.status_code == 400
    local_admin.delete(f"/v2/images/{iid}")


def test_qcow2_with_backing_file_refused(admin: Api, settings: Settings, tmp_path: Path) -> None:
    child = make_qcow2_with_backing(tmp_path).read_bytes()
    for store in ("central", "edge"):
        iid = admin.create(disk_format="qcow2")["id"]
        resp = admin.upload(iid, child, store=store)
        assert resp.status_code == 400 and "backing file" in resp.json()["message"]
        _assert_clean(admin, settings, iid)
        admin.delete(f"/v2/images/{iid}")


def test_declared_format_must_match(each_server: ImageServer, tmp_path: Path) -> None:
    """On both kinds of store: qcow2 declared for an rbd store takes the conversion path."""
    admin, settings = each_server.admin, each_server.settings
    qcow2 = make_qcow2(tmp_path, pattern(1 << 20)).read_bytes()
    iid = admin.create(disk_format="raw")["id"]  # qcow2 content declared raw: refused
    resp = admin.upload(iid, qcow2)
    assert resp.status_code == 400 and "qcow2" in resp.json()["message"]
    _assert_clean(admin, settings, iid)
    admin.delete(f"/v2/images/{iid}")
    iid = admin.create(disk_format="qcow2")["id"]  # raw content declared qcow2: refused
    assert admin.upload(iid, pattern(1 << 20)).status_code == 400
    _assert_clean(admin, settings, iid)
    admin.delete(f"/v2/images/{iid}")


def test_wrong_content_type(local_admin: Api) -> None:
    iid = local_admin.create()["id"]
    resp = local_admin.put(f"/v2/images/{iid}/file", content=b"x",
                           headers={"Content-Type": "application/json"})
    assert resp.status_code == 415
    local_admin.delete(f"/v2/images/{iid}")


def test_delete_during_upload(local_admin: Api, local_settings: Settings) -> None:
    """Deleting an image while its data streams in: the upload fails, nothing stays."""
    iid = local_admin.create()["id"]
    deleted = []

    def body():
        yield pattern(2 << 20)
        while local_admin.image(iid)["status"] != "saving":
            time.sleep(0.02)
        deleted.append(local_admin.delete(f"/v2/images/{iid}").status_code)
        yield pattern(2 << 20, seed=3)
    resp = local_admin.upload(iid, body())
    assert deleted == [204]
    assert resp.status_code == 404, resp.text
    assert leftovers(local_settings, iid) == {}


def test_download_prefers_the_stores_named(admin: Api, srv, ceph_clusters, tmp_path: Path
                                           ) -> None:
    """`?prefer=` (glance image-download --prefer): a DCN site reads its own copy. The dcn0
    copy is marked behind the server's back so the test can tell which store was read."""
    data = pattern(2 << 20, seed=41)
    iid = copied_to_dcn0_and_marked(admin, ceph_clusters, data)
    assert admin.get(f"/v2/images/{iid}/file").content == data  # the default store
    got = admin.get(f"/v2/images/{iid}/file", params={"prefer": "nowhere,dcn0"}).content
    assert got[:4] == b"DCN0" and got[4:] == data[4:]
    out = tmp_path / "pref"
    res = glance(srv.url, "admin", srv.admin_password, "admin", "image-download", "--prefer",
                 "dcn0", "--file", str(out), iid, check=False)  # checksum fails: the mark
    assert out.exists() and out.read_bytes()[:4] == b"DCN0", res.stderr
    admin.delete(f"/v2/images/{iid}")
