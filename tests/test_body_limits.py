"""Request bodies are capped (Keystone's 112 KiB; 256 KiB of image metadata), never image data."""

from __future__ import annotations

from pathlib import Path

import httpx
from server import run_server

from cowcloud.api.limits import MAX_BODY_BYTES, limit_for


def test_which_routes_are_capped() -> None:
    assert limit_for("/identity/v3/auth/tokens") == MAX_BODY_BYTES
    assert limit_for("/image/v2/images") == 256 << 10
    assert limit_for("/image/v2/images/abc/file") is None
    assert limit_for("/image/v2/images/abc/stage") is None


def test_oversized_bodies_are_413_in_each_shape(tmp_path: Path) -> None:
    big = b'{"auth": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    with run_server(tmp_path) as srv, httpx.Client(base_url=srv.url) as http:
        declared = http.post("/identity/v3/auth/tokens", content=big,
                             headers={"Content-Type": "application/json"})
        assert declared.status_code == 413 and declared.json()["error"]["code"] == 413

        def chunks():  # no Content-Length: counted as it arrives
            for i in range(0, len(big), 16384):
                yield big[i:i + 16384]
        chunked = http.post("/identity/v3/projects", content=chunks(),
                            headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["error"]["code"] == 413
        assert "X-Openstack-Request-Id" in chunked.headers

        image = http.post("/image/v2/images", content=b"[" + b"1," * (200 << 10) + b"1]",
                          headers={"Content-Type": "application/json",
                                   "Accept": "application/json"})
        assert image.status_code == 413 and image.json()["code"] == "413 Request Entity Too Large"
        small = http.post("/identity/v3/auth/tokens", json={"auth": {}})
        assert small.status_code in (400, 401)  # parsed and refused on its merits
