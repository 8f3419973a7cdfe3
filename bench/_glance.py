"""Glance 33 as a peer in the same run: started by ../shared/peers/glance-setup.sh on a cluster the benchmark
started, driven over HTTP with the identity headers keystonemiddleware would set (no Keystone).

    with glance_peer(root / "glance", clusters[0].conf) as g:
        iid = g.create(); g.curl("-T", path, g.url(f"/v2/images/{iid}/file"), "-H", g.STORE_CEPH)

GLANCE_VENV (default /tmp/bench-glance-venv) is reused between runs: the first install takes a
few minutes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import run

PEERS = Path(__file__).resolve().parent / "peers"  # our own peers (Keystone)
# Glance's set-up is the shared one (shared/peers beside the repo, or beside the folder of
# worktrees the repo is checked out in): given CEPH_CONF, it runs Glance on that cluster instead
# of starting one of its own.
SHARED_PEERS = next((p / "shared" / "peers" for p in Path(__file__).resolve().parents[2:]
                     if (p / "shared" / "peers").is_dir()),
                    Path(__file__).resolve().parents[2] / "shared" / "peers")
HEADERS = {"X-Identity-Status": "Confirmed", "X-Roles": "admin,member,reader",
           "X-Project-Id": "0123456789abcdef0123456789abcdef",
           "X-User-Id": "fedcba9876543210fedcba9876543210"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Glance:
    STORE_CEPH = "X-Image-Meta-Store: ceph"

    def __init__(self, base: str, folder: Path) -> None:
        self.base = base
        self.folder = folder
        self.http = httpx.Client(base_url=base, headers=HEADERS, timeout=600)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def pids(self) -> list[int]:
        """The uWSGI master and its workers (for CPU and RSS)."""
        master = int((self.folder / "run" / "uwsgi.pid").read_text())
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
        return [master, *map(int, out.split())]

    def create(self, name: str = "bench") -> str:
        resp = self.http.post("/v2/images", json={"name": name, "disk_format": "raw",
                                                  "container_format": "bare"})
        resp.raise_for_status()
        return str(resp.json()["id"])

    def curl(self, *args: str) -> float:
        headers = [x for k, v in HEADERS.items() for x in ("-H", f"{k}: {v}")]
        return run(["curl", "-sf", *headers, *args])

    def upload(self, iid: str, path: Path, store: str = "ceph") -> float:
        return self.curl("-T", str(path), "-H", "Content-Type: application/octet-stream",
                         "-H", f"X-Image-Meta-Store: {store}", self.url(f"/v2/images/{iid}/file"))

    def wait(self, iid: str, done: Callable[[dict[str, Any]], bool], timeout: float = 600) -> None:
        deadline, image = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            image = self.http.get(f"/v2/images/{iid}").json()
            if done(image):
                return
            if image.get("status") in ("killed", "deleted"):
                break
            time.sleep(0.05)
        raise RuntimeError(f"glance image {iid} did not get there: {image}")

    def delete(self, iid: str) -> None:
        self.http.delete(f"/v2/images/{iid}")


@contextmanager
def glance_peer(folder: Path, ceph_conf: Path) -> Iterator[Glance]:
    port = free_port()
    env = {**os.environ, "CEPH_CONF": str(ceph_conf), "GLANCE_DIR": str(folder),
           "GLANCE_PORT": str(port),
           "GLANCE_VENV": os.environ.get("GLANCE_VENV", "/tmp/bench-glance-venv")}
    res = subprocess.run([str(SHARED_PEERS / "glance-setup.sh")], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"glance-setup.sh failed:\n{res.stdout}\n{res.stderr}")
    try:
        yield Glance(f"http://127.0.0.1:{port}", folder)
    finally:
        subprocess.run([str(SHARED_PEERS / "glance-stop.sh")], env=env, capture_output=True)
