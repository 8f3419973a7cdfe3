"""A server killed with SIGKILL in the middle of a copy-image (or an upload) and started again:
the import task resumes and finishes, the upload is undone, and no device is left orphaned."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cowcloud.config import load

from .helpers import Api, leftovers, sha512, token_for
from .procserver import PASSWORD, Proc, process_server

SIZE = 256 << 20  # large enough that the kill lands mid-copy, small for memstore


def _rbd_ls(info: Any, pool: str) -> list[str]:
    out = subprocess.run(["rbd", "--conf", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "ls", pool], capture_output=True, text=True)
    return out.stdout.split()


@contextmanager
def _listing(info: Any, pool: str) -> Iterator[Callable[[], list[str]]]:
    """The pool's image names over one open connection, for polling in a tight loop while the
    server copies: an `rbd ls` per poll (a process, a connection, cephx) took the copy's CPU."""
    import rados  # python3-rados/-rbd
    import rbd

    with rados.Rados(conffile=str(info.conf), rados_id=info.user,
                     conf={"keyring": str(info.keyring)}) as cluster:
        with cluster.open_ioctx(pool) as ioctx:
            yield lambda: rbd.RBD().list(ioctx)


@pytest.fixture(scope="module")
def restart_server(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[Proc]:
    """One `cowcloud serve` process for the module: every test kills it and starts it again."""
    with process_server(tmp_path_factory.mktemp("restart"), ceph_clusters) as p:
        yield p


@pytest.fixture
def proc(restart_server: Proc) -> Proc:
    if restart_server.proc is None:  # a test that failed between kill and start left it down
        restart_server.start()
    return restart_server


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
    with _listing(ceph_clusters[1], "images") as dcn0_images:
        while iid not in dcn0_images():  # the copy into dcn0 has begun
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
