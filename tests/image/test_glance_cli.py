"""The glance CLI's errors: python-glanceclient sends `Accept: */*` and parses the HTML Glance
(webob) answers to it; a JSON error body made every failure print
"'str' object has no attribute 'get'" instead of the HTTP error."""

from __future__ import annotations

import subprocess
import uuid

import httpx
from server import RunningServer

from .conftest import User
from .helpers import Api, glance, unique


def _fails(res: subprocess.CompletedProcess[str], status: str, message: str) -> None:
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "object has no attribute" not in out, out
    assert f"HTTP {status}" in out and message in out, out


def test_glance_cli_prints_the_http_error(srv: RunningServer, admin: Api, alice: User) -> None:
    missing = str(uuid.uuid4())
    as_admin = (srv.url, "admin", srv.admin_password, "admin")
    _fails(glance(*as_admin, "image-show", missing, check=False), "404 Not Found", missing)

    iid = admin.create()["id"]
    _fails(glance(*as_admin, "image-create", "--id", iid, "--name", unique("dup"), check=False),
           "409 Conflict", iid)

    _fails(glance(*as_admin, "image-tag-update", iid, "t" * 256, check=False),
           "400 Bad Request", "Tag should not be greater than 255 characters")

    as_alice = (srv.url, alice.name, alice.password, alice.project)
    _fails(glance(*as_alice, "image-create", "--name", unique("pub"), "--visibility", "public",
                  check=False), "403 Forbidden", "")
    admin.delete(f"/v2/images/{iid}")


def test_image_errors_follow_the_accept_header(srv: RunningServer, admin: Api) -> None:
    """What webob answers Glance's clients: HTML for */* (and text/*), JSON when asked, plain
    text for no or an empty Accept header (openstacksdk's uploads and PATCHes send one)."""
    missing = str(uuid.uuid4())
    url = f"{srv.url}/image/v2/images/{missing}"
    token = {"X-Auth-Token": admin.token}
    expect = {"*/*": "text/html", "text/html": "text/html", "text/*": "text/html",
              "application/json": "application/json", "application/json;q=1, */*;q=0.5":
              "application/json", "text/plain": "text/plain", "": "text/plain"}
    for accept, content_type in expect.items():
        resp = httpx.get(url, headers={**token, "Accept": accept})
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith(content_type), (accept, resp.headers)
        assert f"No image found with ID {missing}" in resp.text, resp.text
        if content_type == "application/json":
            assert resp.json()["code"] == "404 Not Found"
        elif content_type == "text/html":
            assert "<h1>404 Not Found</h1>" in resp.text
        else:
            assert resp.text.startswith("404 Not Found\n\n")
    # keystonemiddleware, not Glance, refuses a missing token: Keystone's JSON whatever Accept
    resp = httpx.get(url, headers={"Accept": "*/*"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == 401
