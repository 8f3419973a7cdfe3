"""Review findings: odd input that used to reach the database (500s, or NUL bytes PostgreSQL
refuses), and web-download URL checks past the obvious ones."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cowcloud.config import ImageSettings
from cowcloud.services.images import webdl
from cowcloud.services.images.webdl import UrlRefused, check

from .helpers import pattern


def _is_glance_error(resp: Any, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"].startswith(str(status)) and body["message"], body


@pytest.mark.parametrize("key,value", [("min_ram", 10**30), ("min_disk", 2**63),
                                       ("min_disk", 2**31), ("min_ram", -1)])
def test_out_of_range_integers_are_400(local_alice, key: str, value: int) -> None:
    iid = local_alice.api.create(visibility="private")["id"]
    resp = local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": f"/{key}",
                                                        "value": value}])
    _is_glance_error(resp, 400)
    assert local_alice.api.image(iid)[key] == 0
    before = {i["id"] for i in local_alice.api.get("/v2/images?limit=1000").json()["images"]}
    _is_glance_error(local_alice.api.post("/v2/images", json={key: value}), 400)
    after = {i["id"] for i in local_alice.api.get("/v2/images?limit=1000").json()["images"]}
    assert after == before  # nothing left behind
    assert local_alice.api.patch(f"/v2/images/{iid}", [{"op": "replace", "path": f"/{key}",
                                                        "value": 2**31 - 1}]).status_code == 200
    local_alice.api.delete(f"/v2/images/{iid}")


def test_nul_characters_are_400(local_alice, local_bob) -> None:
    iid = local_alice.api.create(visibility="shared")["id"]
    for op in ({"op": "replace", "path": "/name", "value": "a\x00b"},
               {"op": "add", "path": "/prop", "value": "a\x00b"},
               {"op": "add", "path": "/pr\x00p", "value": "v"},
               {"op": "replace", "path": "/tags", "value": ["a\x00b"]}):
        _is_glance_error(local_alice.api.patch(f"/v2/images/{iid}", [op]), 400)
    _is_glance_error(local_alice.api.post("/v2/images", json={"name": "a\x00b"}), 400)
    _is_glance_error(local_alice.api.put(f"/v2/images/{iid}/tags/a%00b"), 400)
    _is_glance_error(local_alice.api.post(f"/v2/images/{iid}/members",
                                          json={"member": "a\x00b"}), 400)
    _is_glance_error(local_alice.api.get(f"/v2/images/{iid}/members/a%00b"), 404)
    _is_glance_error(local_alice.api.get("/v2/images?name=a%00b"), 400)
    _is_glance_error(local_alice.api.get("/v2/images?prop=a%00b"), 400)
    image = local_alice.api.image(iid)
    assert image["tags"] == [] and "prop" not in image and "\x00" not in (image["name"] or "")
    assert local_alice.api.get(f"/v2/images/{iid}/members").json()["members"] == []
    local_alice.api.delete(f"/v2/images/{iid}")


def test_list_range_filters_past_64_bits_are_400(local_alice) -> None:
    for q in ("size_min=" + "9" * 30, "size_max=-" + "9" * 30):
        _is_glance_error(local_alice.api.get(f"/v2/images?{q}"), 400)
    resp = local_alice.api.get("/v2/images?size_min=0&size_max=9223372036854775807")
    assert resp.status_code == 200


def test_absurd_range_header_is_400(local_alice) -> None:
    iid = local_alice.api.create(visibility="private")["id"]
    assert local_alice.api.upload(iid, pattern(8192)).status_code == 204
    for rng in ("bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 5000, "bytes=0-1,3-4"):
        _is_glance_error(local_alice.api.get(f"/v2/images/{iid}/file", headers={"Range": rng}), 400)
    resp = local_alice.api.get(f"/v2/images/{iid}/file",
                               headers={"Range": "bytes=8190-" + "9" * 25})
    assert resp.status_code == 206 and resp.content == pattern(8192)[8190:]
    local_alice.api.delete(f"/v2/images/{iid}")


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/", "http://a@127.0.0.1/", "http://127.0.0.1:80@[::1]/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://[::]/", "http://" + "a" * 64 + ".org/",
    "http://localhost./"])
def test_web_download_refuses_disguised_private_hosts(url: str) -> None:
    with pytest.raises(UrlRefused):
        check(url, ImageSettings())


def test_web_download_import_with_bad_host_name_is_400(local_admin) -> None:
    iid = local_admin.create()["id"]
    resp = local_admin.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "web-download", "uri": "http://" + "a" * 64 + ".org/x"}})
    _is_glance_error(resp, 400)
    assert local_admin.image(iid)["status"] == "queued"
    local_admin.delete(f"/v2/images/{iid}")


def test_web_download_does_not_follow_redirects_to_private(monkeypatch) -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            if self.path == "/start":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.2:{port}/secret")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Length", "6")
                self.end_headers()
                self.wfile.write(b"secret")

        def log_message(self, *a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = webdl._public
    monkeypatch.setattr(webdl, "_public", lambda a: a == "127.0.0.1" or real(a))

    async def go() -> bytes:
        async with webdl.fetch(f"http://127.0.0.1:{port}/start", ImageSettings()) as (_, body):
            return b"".join([c async for c in body])
    try:
        with pytest.raises(UrlRefused):
            asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/start"]


def test_odd_image_size_headers_are_400(local_alice) -> None:
    iid = local_alice.api.create(visibility="private")["id"]

    def chunks() -> Any:
        yield b"abc"
    for value in (b"\xb2", b"-1", b"1e3", b"9" * 5000, b"0x10"):
        for route in ("file", "stage"):
            resp = local_alice.api.put(f"/v2/images/{iid}/{route}", content=chunks(), headers={
                "Content-Type": "application/octet-stream", "x-openstack-image-size": value})
            _is_glance_error(resp, 400)
    assert local_alice.api.image(iid)["status"] == "queued"
    assert local_alice.api.upload(iid, b"abc", **{"x-openstack-image-size": "3"}).status_code == 204
    local_alice.api.delete(f"/v2/images/{iid}")
