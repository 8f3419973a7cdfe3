"""Clients and probes for the image tests: an authenticated HTTP client, the glance CLI, test
images made with qemu-img, and a look into every store's pool for leftovers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pty
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from server import os_cli
from server import pattern as pattern
from server import token_for as token_for
from server import unique as unique

from cowcloud.config import Settings
from cowcloud.storage.errors import NotFound
from cowcloud.storage.registry import make_backend

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"




@dataclass
class Api:
    """httpx on /image with a token: .get('/v2/images') and friends."""

    url: str
    token: str
    project_id: str = ""

    def client(self) -> httpx.Client:
        # JSON errors, as openstacksdk asks for them (with httpx's `*/*` Glance answers HTML)
        return httpx.Client(base_url=f"{self.url}/image", timeout=120,
                            headers={"X-Auth-Token": self.token, "Accept": "application/json"})

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.client() as c:
            return c.request(method, path, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, ops: Any, **kw: Any) -> httpx.Response:
        headers = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
        return self.request("PATCH", path, content=json.dumps(ops), headers=headers, **kw)

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", unique("img"))
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        resp = self.post("/v2/images", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def upload(self, image_id: str, data: Any, store: str | None = None,
               **headers: str) -> httpx.Response:
        h = {"Content-Type": "application/octet-stream", **headers}
        if store:
            h["X-Image-Meta-Store"] = store
        if isinstance(data, bytes) and len(data) > (4 << 20):
            # httpx sends one big bytes body very slowly (it re-slices the rest after every
            # send): hand it over in pieces, as clients stream files, with the size announced.
            h.setdefault("x-openstack-image-size", str(len(data)))
            view = memoryview(data)
            data = (bytes(view[i:i + (1 << 20)]) for i in range(0, len(view), 1 << 20))
        return self.put(f"/v2/images/{image_id}/file", content=data, headers=h)

    def image(self, image_id: str) -> dict[str, Any]:
        resp = self.get(f"/v2/images/{image_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait(self, image_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
        """Polls the image until done(image) is true."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.image(image_id)
            if done(image):
                return image
            if time.monotonic() > deadline:
                raise AssertionError(f"image never got there: {image}")
            time.sleep(0.1)

    def wait_task(self, task_id: str, timeout: float = 60) -> dict[str, Any]:
        """Polls /v2/tasks/ID until it succeeds or fails."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get(f"/v2/tasks/{task_id}").json()
            if task["status"] in ("success", "failure"):
                return task
            assert time.monotonic() < deadline, task
            time.sleep(0.1)

    def wait_tasks(self, image_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
            if tasks and all(t["status"] in ("success", "failure") for t in tasks):
                return tasks
            if time.monotonic() > deadline:
                raise AssertionError(f"tasks never finished: {tasks}")
            time.sleep(0.1)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()



def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def make_qcow2(folder: Path, raw: bytes, name: str = "disk.qcow2") -> Path:
    src = folder / f"{name}.raw"
    src.write_bytes(raw)
    out = folder / name
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(src), str(out))
    return out


def make_qcow2_with_backing(folder: Path) -> Path:
    base = folder / "base.qcow2"
    qemu_img("create", "-f", "qcow2", str(base), "16M")
    child = folder / "child.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(child))
    return child


# ------------------------------------------------------------------------ looking into pools

async def _devices(settings: Settings, prefix: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, target in settings.image_stores.items():
        backend = make_backend(settings, target.cluster)
        await backend.open()
        try:
            out[name] = [d for d in await backend.list_devices(target.pool)
                         if d.startswith(prefix)]
        except NotFound:  # a store whose pool is missing (the broken-store tests)
            out[name] = []
        finally:
            await backend.close()
    return out


def devices(settings: Settings, prefix: str) -> dict[str, list[str]]:
    """Devices whose name starts with `prefix` (an image id), per store."""
    return asyncio.run(_devices(settings, prefix))


def leftovers(settings: Settings, image_id: str) -> dict[str, list[str]]:
    return {k: v for k, v in devices(settings, image_id).items() if v}


# ------------------------------------------------------------------------ glance CLI

def glance(server_url: str, user: str, password: str, project: str, *args: str,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    # glance refuses --file when stdin is not a terminal (it would read the image from it)
    leader, follower = pty.openpty()
    try:
        return os_cli("glance", server_url, user, password, project, *args, check=check,
                      extra_env={"OS_IMAGE_API_VERSION": "2"}, stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)


def mark_device(info: Any, pool: str, name: str, mark: bytes) -> None:
    """Writes `mark` at the start of an rbd device behind the server's back, so a test can tell
    which copy of an image a download read."""
    import rados  # python3-rados/-rbd: only the Ceph tests need them
    import rbd

    with rados.Rados(conffile=str(info.conf), rados_id=info.user,
                     conf={"keyring": str(info.keyring)}) as cluster:
        with cluster.open_ioctx(pool) as ioctx, rbd.Image(ioctx, name) as image:
            image.write(mark, 0)


def copied_to_dcn0_and_marked(api: Api, ceph_clusters: list[Any], data: bytes) -> str:
    """A new image holding `data` in the default store (central) and in dcn0, whose copy is then
    marked with b"DCN0" (mark_device): a download tells by its first bytes which copy it read."""
    iid = api.create()["id"]
    assert api.upload(iid, data).status_code == 204
    assert api.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "copy-image"}, "stores": ["dcn0"]}).status_code == 202
    assert api.wait_tasks(iid)[0]["status"] == "success"
    mark_device(ceph_clusters[1], "images", iid, b"DCN0")
    return iid
