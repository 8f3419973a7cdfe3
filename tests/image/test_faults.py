"""Fault cases: dead writers nobody can ask (a zombie, another host), a cluster whose OSD or mon
is stopped (at start-up, during a copy, during a stop). Each ends with no image stuck, no orphan
and no hang.

The stopped cluster is this module's own (`far`), never the session's shared ones; whatever a
test stops is started again in a finally. Timeouts are set short through the settings so each
fault shows within seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ceph_clusters import (
    CephClusterInfo,
    ceph_available,
    start_cluster,
    start_mon,
    start_osd,
    stop_cluster,
    stop_mon,
    stop_osd,
)

from cowcloud.config import load

from .helpers import Api, leftovers, token_for
from .procserver import PASSWORD, Proc, free_port

LEASE = 3  # [image] task_lease_seconds: uploads and tasks of a dead writer are taken over after it


@pytest.fixture(scope="module")
def far(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephClusterInfo]:
    """A cluster of this module's own, whose OSD and mon the tests stop and start."""
    reason = ceph_available()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("far-ceph")
    info = start_cluster(folder, pools=("images",), memstore_bytes=1 << 30)
    try:
        # A client whose image close could not reach the stopped OSD leaves its watch there
        # until the watch times out (30 s by default), and rbd refuses to remove a watched
        # image meanwhile: the cleanup waits that out. 10 s keeps these tests short.
        subprocess.run(["ceph", "--conf", str(info.conf), "--keyring", str(info.keyring),
                        "config", "set", "osd", "osd_client_watch_timeout", "10"],
                       check=True, capture_output=True, timeout=30)
        yield info
    finally:
        stop_cluster(info.dir)


def _config(data_dir: Path, port: int, central: CephClusterInfo, far: CephClusterInfo) -> str:
    def cluster(name: str, info: CephClusterInfo, site: str) -> str:
        return (f'[clusters.{name}]\nkind = "rbd"\nsite = "{site}"\nconf = "{info.conf}"\n'
                f'keyring = "{info.keyring}"\nuser = "{info.user}"\n'
                # short limits, so each fault shows in seconds
                'rados_osd_op_timeout = 2\nrados_mon_op_timeout = 2\nclient_mount_timeout = 2\n'
                'stall_timeout = 4\n')
    return "\n".join([
        f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{data_dir}"\n'
        'cluster_wait_seconds = 0.5\nstop_grace_seconds = 2\n',
        f'[image]\ntask_lease_seconds = {LEASE}\nreap_interval_seconds = 1\n',
        '[sites.central]\n[sites.far]\n',
        cluster("ceph0", central, "central"), cluster("farceph", far, "far"),
        '[image_stores.central]\ncluster = "ceph0"\npool = "images"\ndefault = true\n',
        '[image_stores.far]\ncluster = "farceph"\npool = "images"\n'])


@pytest.fixture
def proc(ceph_clusters: list[Any], far: CephClusterInfo, tmp_path: Path) -> Iterator[Proc]:
    """A `cowcloud serve` child process (not started) over central (shared) and far (ours)."""
    port = free_port()
    config = tmp_path / "cowcloud.toml"
    config.write_text(_config(tmp_path, port, ceph_clusters[0], far))
    p = Proc(f"http://127.0.0.1:{port}", config, tmp_path)
    try:
        yield p
    finally:
        p.stop()
        # whatever a test stopped runs again for the next one
        start_mon(far.dir)
        start_osd(far.dir)


def _api(url: str) -> Api:
    return Api(url, token_for(url, "admin", PASSWORD, "admin"))


def _rbd(info: CephClusterInfo, *args: str) -> str:
    res = subprocess.run(["rbd", "--conf", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _until(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _swallow(fn: Any) -> None:
    try:
        fn()
    except Exception:
        pass


# ---------------------------------------------------------------------- item 7: dead writers

def test_uploads_of_a_zombie_writer_are_recovered(proc: Proc) -> None:
    """SIGKILL 2 s into four uploads, restart while the old process is still a zombie (its pid
    answers kill(pid, 0)): the uploads' leases run out, their devices and the dead writer's
    locks go, the images are queued again; one deleted meanwhile leaves no device behind."""
    proc.start()
    settings = load(proc.config)
    api = _api(proc.url)
    ids = [api.create()["id"] for _ in range(4)]
    sent = threading.Semaphore(0)

    def body() -> Iterator[bytes]:
        yield os.urandom(16 << 20)
        sent.release()
        time.sleep(60)  # the server dies meanwhile
        yield b"never"
    for iid in ids:
        threading.Thread(target=_swallow, args=(lambda i=iid: api.upload(i, body()),),
                         daemon=True).start()
    for _ in ids:
        assert sent.acquire(timeout=30)
    _until("the uploads' devices", lambda: all(leftovers(settings, i) for i in ids), 20)
    time.sleep(2)
    proc.kill(reap=False)  # a zombie now
    proc.start()
    # still a zombie (poll() would reap it): kill(pid, 0) says it lives
    assert Path(f"/proc/{proc.zombies[0].pid}/stat").read_text().split()[2] == "Z"
    os.kill(proc.zombies[0].pid, 0)
    api = _api(proc.url)
    assert api.delete(f"/v2/images/{ids[0]}").status_code == 204

    def recovered() -> bool:
        return all(api.image(i)["status"] == "queued" for i in ids[1:])
    _until("recovery of the dead writer's uploads", recovered, 6 * LEASE)
    for iid in ids:
        _until(f"{iid}'s devices to go", lambda i=iid: not leftovers(settings, i), 3 * LEASE)
    for iid in ids[1:]:
        assert api.image(iid)["locations"] == []
        assert api.upload(iid, b"x" * 1000).status_code == 204  # not 409
        assert api.image(iid)["status"] == "active"
        assert api.delete(f"/v2/images/{iid}").status_code == 204


_DEAD_WRITER = """
import rados, rbd, sys, time
conf, keyring, pool, name = sys.argv[1:5]
r = rados.Rados(conffile=conf, rados_id="admin", conf={"keyring": keyring})
r.connect()
io = r.open_ioctx(pool)
rbd.RBD().create(io, name, 8 << 20, old_format=False,
                 features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
image = rbd.Image(io, name)
image.write(b"w" * 4096, 0)  # takes the exclusive lock, as a writing librbd client does
print("ready", flush=True)
time.sleep(600)
"""


def test_upload_of_a_writer_on_another_host_is_recovered(proc: Proc, ceph_clusters: list[Any]
                                                         ) -> None:
    """A pending row whose writer ran on another host (its pid means nothing here) and died
    holding the device's lock: taken over once its lease runs out, while this server runs."""
    proc.start()
    settings = load(proc.config)
    api = _api(proc.url)
    iid = api.create()["id"]
    central = ceph_clusters[0]
    writer = subprocess.Popen([sys.executable, "-c", _DEAD_WRITER, str(central.conf),
                               str(central.keyring), "images", iid], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        # the row such a writer leaves: its host, its pid, a lease that runs out
        url = _rbd_url(central, iid)
        meta = {"store": "central", "cluster": "ceph0", "pool": "images", "device": iid,
                "writer": f"elsewhere.example:{os.getpid()}:0badcafe", "task": None,
                "lease_until": time.time() + LEASE}
        with sqlite3.connect(proc.data_dir / "cowcloud.db") as db:
            db.execute("UPDATE images SET status = 'saving' WHERE id = ?", (iid,))
            db.execute("INSERT INTO image_locations (image_id, store, url, status, meta) "
                       "VALUES (?, 'central', ?, 'pending', ?)", (iid, url, json.dumps(meta)))
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    # the dead writer's exclusive lock stays on the device: recovery must fence it
    assert "1 exclusive lock" in _rbd(central, "lock", "ls", f"images/{iid}")
    image = _until("recovery", lambda: (lambda i: i if i["status"] == "queued" else None)(
        api.image(iid)), 6 * LEASE)
    assert image["locations"] == []
    assert not leftovers(settings, iid)
    assert api.upload(iid, b"y" * 1000).status_code == 204
    assert api.delete(f"/v2/images/{iid}").status_code == 204


def _rbd_url(info: CephClusterInfo, iid: str) -> str:
    return f"rbd://{info.fsid}/images/{iid}/snap"


# ---------------------------------------------------------------------- item 8: start-up

def _mark_deleted(proc: Proc, iid: str) -> None:
    """What a crash between a delete's two steps leaves: image deleted, location deleting."""
    with sqlite3.connect(proc.data_dir / "cowcloud.db") as db:
        db.execute("UPDATE images SET status = 'deleted' WHERE id = ?", (iid,))
        db.execute("UPDATE image_locations SET status = 'deleting' WHERE image_id = ?", (iid,))


def _health(proc: Proc) -> dict[str, Any]:
    return httpx.get(f"{proc.url}/healthz", timeout=5).json()


def test_start_with_a_stopped_osd_and_an_interrupted_delete(proc: Proc, far: CephClusterInfo
                                                           ) -> None:
    proc.start()
    api = _api(proc.url)
    doomed, kept, other = api.create()["id"], api.create()["id"], api.create()["id"]
    for iid, store in ((doomed, "far"), (kept, "far"), (other, "central")):
        assert api.upload(iid, os.urandom(1 << 20), store=store).status_code == 204
    proc.stop()
    _mark_deleted(proc, doomed)
    stop_osd(far.dir)

    began = time.monotonic()
    proc.start(wait_clusters=False)
    started = time.monotonic() - began
    api = _api(proc.url)  # identity at once
    assert started < 15, f"start-up took {started:.1f} s"
    assert api.image(other)["status"] == "active"  # the healthy cluster's images at once
    with api.client() as c:
        assert c.get(f"/v2/images/{other}/file").status_code == 200
    fresh = api.create()["id"]
    assert api.upload(fresh, b"c" * 1000, store="central").status_code == 204
    t0 = time.monotonic()
    resp = api.upload(api.create()["id"], b"f" * 1000, store="far")
    assert resp.status_code == 503 and "far" in resp.json()["message"], resp.text
    assert time.monotonic() - t0 < 20
    # a delete touching the stopped cluster answers, and finishes once the cluster is back
    t0 = time.monotonic()
    assert api.delete(f"/v2/images/{kept}").status_code == 204
    assert time.monotonic() - t0 < 20

    start_osd(far.dir)
    _until("the interrupted deletes to finish",
           lambda: not ({doomed, kept} & set(_rbd(far, "ls", "images").split())), 40)
    assert not _health(proc)["unavailable"]
    assert api.upload(api.create()["id"], b"f" * 1000, store="far").status_code == 204
    with sqlite3.connect(proc.data_dir / "cowcloud.db") as db:
        rows = db.execute("SELECT image_id, status FROM image_locations WHERE image_id IN "
                          "(?, ?)", (doomed, kept)).fetchall()
    assert rows == []


def test_start_with_a_stopped_mon(proc: Proc, far: CephClusterInfo) -> None:
    stop_mon(far.dir)
    began = time.monotonic()
    proc.start(wait_clusters=False)
    assert time.monotonic() - began < 15
    api = _api(proc.url)
    assert _health(proc)["unavailable"] == ["farceph"]
    iid = api.create()["id"]
    assert api.upload(iid, b"c" * 1000, store="central").status_code == 204
    t0 = time.monotonic()
    resp = api.upload(api.create()["id"], b"f" * 1000, store="far")
    assert resp.status_code == 503 and "far" in resp.json()["message"], resp.text
    assert time.monotonic() - t0 < 2  # not even tried: the cluster is not open
    detail = api.get("/v2/info/stores/detail")
    assert detail.status_code == 200, detail.text

    start_mon(far.dir)
    _until("the cluster to open", lambda: not _health(proc)["unavailable"], 40)
    # Open is not yet writable at once: the OSD and our mon session re-register with the new
    # mon on their own schedule (a snapshot id comes from the mon), and until then an upload
    # is a clear 503 naming the store; each such image is cleaned and deletable.
    answers: list[str] = []
    deadline = time.monotonic() + 120
    while not answers or not answers[-1].startswith("204"):
        assert time.monotonic() < deadline, f"no upload to the reopened cluster: {answers}"
        late = api.create()["id"]
        resp = api.upload(late, b"f" * 1000, store="far")
        answers.append(f"{resp.status_code} {resp.text[:300]}")
        assert resp.status_code in (204, 503), answers
        if resp.status_code == 503:
            assert api.delete(f"/v2/images/{late}").status_code == 204
            time.sleep(1)
    assert api.image(late)["status"] == "active"
    assert api.delete(f"/v2/images/{late}").status_code == 204
    assert late not in _rbd(far, "ls", "images").split()


# ---------------------------------------------------------------------- item 9: time limits

SIZE = 256 << 20


def _copy_to_far(api: Api, far: CephClusterInfo) -> str:
    iid = api.create()["id"]
    assert api.upload(iid, os.urandom(SIZE)).status_code == 204
    assert api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["far"]}).status_code == 202
    _until("the copy to start", lambda: iid in _rbd(far, "ls", "images").split(), 60)
    return iid


def test_copy_fails_when_its_osd_stops_and_leaves_nothing(proc: Proc,
                                                          far: CephClusterInfo) -> None:
    proc.start()
    api = _api(proc.url)
    iid = _copy_to_far(api, far)
    stop_osd(far.dir)
    t0 = time.monotonic()
    try:
        tasks = api.wait_tasks(iid, timeout=40)
    except AssertionError:
        proc.proc.send_signal(signal.SIGUSR1)  # where it waits, into server.log
        time.sleep(1)
        raise  # before: waited in the write window for ever
    assert [t["status"] for t in tasks] == ["failure"], tasks
    assert time.monotonic() - t0 < 40
    image = api.image(iid)
    assert image["status"] == "active" and image["stores"] == "central"
    assert image["os_glance_failed_import"] == "far"

    start_osd(far.dir)
    gone = lambda: iid not in _rbd(far, "ls", "images").split()  # noqa: E731
    try:
        _until("the half copy to go", gone, 30)
    except AssertionError:
        # librbd's close of the copy's target can wait without end once the OSD went away
        # mid-write (this process then keeps it open and watched): the next runtime fences
        # the old one and the reaper removes the device.
        proc.stop()
        proc.start()
        _until("the half copy to go after a restart", gone, 30)
    assert api.delete(f"/v2/images/{iid}").status_code == 204


def test_sigterm_with_a_storage_call_hanging(proc: Proc, far: CephClusterInfo) -> None:
    proc.start()
    api = _api(proc.url)
    iid = _copy_to_far(api, far)
    stop_osd(far.dir)
    assert proc.proc is not None
    t0 = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    proc.proc.wait(20)  # before: hung on the executor's threads
    proc.proc = None
    assert time.monotonic() - t0 < 20

    start_osd(far.dir)
    proc.start()  # the copy's task is resumed (or failed) and cleans up after itself
    api = _api(proc.url)
    tasks = api.wait_tasks(iid, timeout=90)
    image = api.image(iid)
    if tasks[-1]["status"] == "success":
        assert sorted(image["stores"].split(",")) == ["central", "far"]
    else:
        assert image["stores"] == "central"
        _until("the half copy to go", lambda: iid not in _rbd(far, "ls", "images").split(),
               10 * LEASE)
    assert api.delete(f"/v2/images/{iid}").status_code == 204
    assert iid not in _rbd(far, "ls", "images").split()
