"""A server killed with SIGKILL in the middle of a copy-image (or an upload) and started again:
the import task resumes and finishes, the upload is undone, and no device is left orphaned."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cowcloud.config import load

from .helpers import Api, leftovers, sha512, token_for
from .procserver import PASSWORD, process_server

SIZE = 256 << 20  # large enough that the kill lands mid-copy, small for memstore


def _rbd_ls(info: Any, pool: str) -> list[str]:
    out = subprocess.run(["rbd", "--conf", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "ls", pool], capture_output=True, text=True)
    return out.stdout.split()


@pytest.fixture
def proc(ceph_clusters: list[Any], tmp_path: Path):
    with process_server(tmp_path, ceph_clusters) as p:
        yield p


def _api(url: str) -> Api:
    return Api(url, token_for(url, "admin", PASSWORD, "admin"))


def test_kill_during_copy_image_resumes(proc, ceph_clusters: list[Any]) -> None:
    settings = load(proc.config)
    api = _api(proc.url)
    data = os.urandom(SIZE)
    iid = api.create()["id"]
    assert api.upload(iid, data).status_code == 204
    assert api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["dcn0", "edge"]}).status_code == 202
    deadline = time.monotonic() + 60
    while iid not in _rbd_ls(ceph_clusters[1], "images"):  # the copy into dcn0 has begun
        assert time.monotonic() < deadline, "the copy never started"
        time.sleep(0.01)
    proc.kill()
    # mid-copy: the target exists, half written, with no location: the task's pending rows
    # name it, and its next run removes it before copying again
    assert iid in _rbd_ls(ceph_clusters[1], "images")

    proc.start()
    api = _api(proc.url)
    tasks = api.wait_tasks(iid, timeout=120)
    assert [t["status"] for t in tasks] == ["success"], tasks
    image = api.image(iid)
    assert sorted(image["stores"].split(",")) == ["central", "dcn0", "edge"]
    assert image["os_glance_importing_to_stores"] == "" and image["os_glance_failed_import"] == ""
    assert leftovers(settings, iid) == {"central": [iid], "dcn0": [iid], "edge": [iid]}
    for store in ("central", "edge"):  # what stays is a whole copy
        assert api.delete(f"/v2/stores/{store}/{iid}").status_code == 204
    with api.client() as c, c.stream("GET", f"/v2/images/{iid}/file") as resp:
        h = hashlib.sha512()
        for chunk in resp.iter_bytes():
            h.update(chunk)
    assert h.hexdigest() == sha512(data)
    api.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}


def test_kill_during_upload_is_undone(proc) -> None:
    settings = load(proc.config)
    api = _api(proc.url)
    iid = api.create()["id"]
    sent = threading.Event()

    def body():
        yield os.urandom(16 << 20)
        sent.set()
        time.sleep(30)  # the server dies meanwhile
        yield b"never"
    t = threading.Thread(target=lambda: _swallow(lambda: api.upload(iid, body())), daemon=True)
    t.start()
    assert sent.wait(30)
    deadline = time.monotonic() + 20
    while not leftovers(settings, iid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    assert leftovers(settings, iid)  # the half upload is there...
    proc.start()
    api = _api(proc.url)
    image = api.image(iid)
    assert image["status"] == "queued" and image["locations"] == []
    assert leftovers(settings, iid) == {}  # ...and recovery removed it
    assert api.upload(iid, b"x" * 1000).status_code == 204
    api.delete(f"/v2/images/{iid}")


def _swallow(fn) -> None:
    try:
        fn()
    except Exception:
        pass
