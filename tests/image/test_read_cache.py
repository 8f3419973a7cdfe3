"""The kept answers of image list and show (services/images/read_cache.py) are never served once
a write they could miss is committed: for every write the Image API makes, in the request or
in a background task, and for a write by another process on the same SQLite database.

Each case reads an image twice (the second answer comes from the cache), writes, and then
checks that what list and show answer is what the database says now (the service's read
functions on a fresh session, no cache), and that the write did change that answer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from server import RunningServer

from cowcloud.api.image.common import decorate
from cowcloud.services.images.errors import ImageNotFound
from cowcloud.services.images.listing import parse_query

from .conftest import User
from .helpers import Api, unique

pytestmark = pytest.mark.usefixtures("local_srv")


def served(api: Api, iid: str) -> tuple[Any, Any]:
    """(show's body or status, list's images) as the API answers them to `api`'s caller."""
    show = api.get(f"/v2/images/{iid}")
    listed = api.get("/v2/images", params={"id": iid})
    assert listed.status_code == 200, listed.text
    return (show.json() if show.status_code == 200 else show.status_code,
            listed.json()["images"])


def truth(srv: RunningServer, api: Api, iid: str) -> tuple[Any, Any]:
    """What served() should answer, read from the database now, past the cache."""
    rt = srv.app.state.runtime
    ctx = rt.auth.validate(api.token).context()
    with rt.db.session() as s:
        try:
            show: Any = decorate(rt.images.show_in(s, ctx, iid))
        except ImageNotFound:
            show = 404
        views, _ = rt.images.list_in(s, ctx, parse_query([("id", iid)]))
    return show, [decorate(v) for v in views]


def warm(srv: RunningServer, api: Api, iid: str) -> tuple[Any, Any]:
    before = served(api, iid)
    cache = srv.app.state.runtime.images.read_cache
    assert served(api, iid) == before
    assert len(cache) > 0  # the reads above are kept (what this test is about)
    return before


def fresh_after(srv: RunningServer, api: Api, iid: str, before: tuple[Any, Any]) -> None:
    now = truth(srv, api, iid)
    assert now != before, "the write changed nothing the reads show: the case proves nothing"
    assert served(api, iid) == now


def _image(owner: User, **body: Any) -> str:
    return str(owner.api.create(**body)["id"])


def _uploaded(owner: User, **body: Any) -> str:
    iid = _image(owner, **body)
    assert owner.api.upload(iid, b"x" * 4096).status_code == 204
    return iid


def _ok(resp: Any) -> None:
    assert resp.status_code < 300, resp.text


# (name, set-up(owner) -> image id, the write(owner, other, image id), whose reads to check)
Case = tuple[str, Callable[[User], str], Callable[[User, User, str], None], str]
CASES: list[Case] = [
    ("rename", _image, lambda o, b, i: _ok(o.api.patch(
        f"/v2/images/{i}", [{"op": "replace", "path": "/name", "value": unique("new")}])),
     "owner"),
    ("add property", _image, lambda o, b, i: _ok(o.api.patch(
        f"/v2/images/{i}", [{"op": "add", "path": "/os_distro", "value": "debian"}])), "owner"),
    ("remove property", lambda o: _image(o, os_distro="debian"), lambda o, b, i: _ok(o.api.patch(
        f"/v2/images/{i}", [{"op": "remove", "path": "/os_distro"}])), "owner"),
    ("add tag", _image, lambda o, b, i: _ok(o.api.put(f"/v2/images/{i}/tags/t1")), "owner"),
    ("remove tag", lambda o: _image(o, tags=["t1"]),
     lambda o, b, i: _ok(o.api.delete(f"/v2/images/{i}/tags/t1")), "owner"),
    ("upload", _image, lambda o, b, i: _ok(o.api.upload(i, b"y" * 4096)), "owner"),
    ("stage", _image, lambda o, b, i: _ok(o.api.put(
        f"/v2/images/{i}/stage", content=b"z" * 4096,
        headers={"Content-Type": "application/octet-stream"})), "owner"),
    ("delete", _uploaded, lambda o, b, i: _ok(o.api.delete(f"/v2/images/{i}")), "owner"),
    ("share with a member who accepts", lambda o: _image(o, visibility="shared"),
     lambda o, b, i: (_ok(o.api.post(f"/v2/images/{i}/members", json={"member": b.project_id})),
                      _ok(b.api.put(f"/v2/images/{i}/members/{b.project_id}",
                                    json={"status": "accepted"}))), "other"),
    ("remove a member", lambda o: _image(o, visibility="shared"), None, "other"),  # below
    ("make private", lambda o: _image(o, visibility="community"), lambda o, b, i: _ok(
        o.api.patch(f"/v2/images/{i}", [{"op": "replace", "path": "/visibility",
                                         "value": "private"}])), "other"),
]


def _remove_member_setup(owner: User, other: User, iid: str) -> None:
    _ok(owner.api.post(f"/v2/images/{iid}/members", json={"member": other.project_id}))
    _ok(other.api.put(f"/v2/images/{iid}/members/{other.project_id}",
                      json={"status": "accepted"}))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_write_in_the_request_is_seen_at_once(case: Case, local_srv: RunningServer,
                                                local_alice: User, local_bob: User) -> None:
    name, setup, write, reader = case
    owner, other = local_alice, local_bob
    iid = setup(owner)
    if name == "remove a member":
        _remove_member_setup(owner, other, iid)
        write = lambda o, b, i: _ok(o.api.delete(f"/v2/images/{i}/members/{b.project_id}"))  # noqa: E731
    api = owner.api if reader == "owner" else other.api
    before = warm(local_srv, api, iid)
    assert write is not None
    write(owner, other, iid)
    fresh_after(local_srv, api, iid, before)


def test_an_admin_deactivates_and_reactivates(local_srv: RunningServer, local_admin: Api,
                                              local_alice: User) -> None:
    iid = _uploaded(local_alice)
    for action in ("deactivate", "reactivate"):
        before = warm(local_srv, local_alice.api, iid)
        _ok(local_admin.post(f"/v2/images/{iid}/actions/{action}"))
        fresh_after(local_srv, local_alice.api, iid, before)


def test_a_store_copy_removed_by_an_admin(local_srv: RunningServer, local_admin: Api) -> None:
    iid = _uploaded_to_two(local_admin)
    before = warm(local_srv, local_admin, iid)
    _ok(local_admin.delete(f"/v2/stores/dcn0/{iid}"))
    fresh_after(local_srv, local_admin, iid, before)


def _uploaded_to_two(api: Api) -> str:
    iid = str(api.create()["id"])
    assert api.upload(iid, b"w" * 4096).status_code == 204
    _ok(api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["dcn0"]}))
    assert api.wait_tasks(iid)[-1]["status"] == "success"
    return iid


@pytest.mark.parametrize("method", ["glance-direct", "copy-image"])
def test_a_write_by_a_background_task_is_seen_at_once(method: str, local_srv: RunningServer,
                                                      local_admin: Api) -> None:
    api = local_admin
    iid = str(api.create()["id"])
    if method == "glance-direct":
        _ok(api.put(f"/v2/images/{iid}/stage", content=b"v" * 4096,
                    headers={"Content-Type": "application/octet-stream"}))
    else:
        assert api.upload(iid, b"u" * 4096).status_code == 204
    before = warm(local_srv, api, iid)
    _ok(api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": method}, "stores": ["dcn0"]}))
    # the task's state is not a cached read: once it says done, the image reads must say so
    assert api.wait_tasks(iid)[-1]["status"] == "success"
    fresh_after(local_srv, api, iid, before)
    assert "dcn0" in served(api, iid)[0]["stores"].split(",")


def test_a_new_image_is_listed_at_once(local_srv: RunningServer, local_alice: User) -> None:
    api, name = local_alice.api, unique("new")
    assert api.get("/v2/images", params={"name": name}).json()["images"] == []
    assert api.get("/v2/images", params={"name": name}).json()["images"] == []
    iid = api.create(name=name)["id"]
    assert [i["id"] for i in api.get("/v2/images", params={"name": name}).json()["images"]] \
        == [iid]


WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    db.execute("UPDATE images SET name = ? WHERE id = ?", (sys.argv[2], sys.argv[3]))
"""


def test_a_write_by_another_process_is_seen_at_once(local_srv: RunningServer,
                                                    local_alice: User) -> None:
    """Another process on the same database file (a second server, or an operator's sqlite3):
    none of this process's write hooks sees it."""
    url = local_srv.settings.server.database_url
    assert url.startswith("sqlite:///")
    iid = _image(local_alice)
    api = local_alice.api
    for _ in range(3):  # each commit is seen, not only the first
        before = warm(local_srv, api, iid)
        subprocess.run([sys.executable, "-c", WRITER, url.removeprefix("sqlite:///"),
                        unique("renamed"), iid], check=True)
        fresh_after(local_srv, api, iid, before)
