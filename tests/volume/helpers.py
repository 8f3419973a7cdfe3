"""Clients and probes for the volume tests: an HTTP client on /volume/v3 (and /image/v2 for
the images volumes come from), the cinder CLI, and looks into the pools with the rbd CLI."""

from __future__ import annotations

import asyncio
import json
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
from cowcloud.storage import DeviceRef
from cowcloud.storage.errors import NotFound
from cowcloud.storage.registry import make_backend

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
GiB = 1 << 30





@dataclass
class VolumeApi:
    """httpx on the server with a token; `v(...)` paths are under /volume/v3/{project_id}."""

    url: str
    token: str
    project_id: str

    def request(self, method: str, path: str, *, project: bool = True,
                version: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        if version:
            headers["OpenStack-API-Version"] = f"volume {version}"
        prefix = f"/volume/v3/{self.project_id}" if project else "/volume/v3"
        with httpx.Client(base_url=self.url, timeout=120) as c:
            return c.request(method, prefix + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def create(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("name", unique("vol"))
        resp = self.post("/volumes", json={"volume": spec})
        assert resp.status_code == 202, resp.text
        return resp.json()["volume"]

    def volume(self, volume_id: str) -> dict[str, Any]:
        resp = self.get(f"/volumes/{volume_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()["volume"]

    def wait(self, volume_id: str, status: str = "available", timeout: float = 120
             ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            vol = self.volume(volume_id)
            if vol["status"] == status:
                return vol
            assert vol["status"] not in ("error", "error_deleting") or status.startswith(
                "error"), vol
            if time.monotonic() > deadline:
                raise AssertionError(f"volume never got {status}: {vol}")
            time.sleep(0.1)

    def gone(self, volume_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get(f"/volumes/{volume_id}").status_code != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"volume {volume_id} never went")
            time.sleep(0.1)

    def snapshot(self, volume_id: str, **spec: Any) -> dict[str, Any]:
        resp = self.post("/snapshots", json={"snapshot": {"volume_id": volume_id, **spec}})
        assert resp.status_code == 202, resp.text
        return resp.json()["snapshot"]

    def snapshot_gone(self, snapshot_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get(f"/snapshots/{snapshot_id}").status_code != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"snapshot {snapshot_id} never went")
            time.sleep(0.1)

    # ------------------------------------------------------------------ images

    def image(self, data: bytes, store: str | None = None, **fields: Any) -> str:
        """A new active image holding `data` (in `store`, else the default store)."""
        h = {"X-Auth-Token": self.token}
        with httpx.Client(base_url=f"{self.url}/image", timeout=120, headers=h) as c:
            body = {"name": unique("img"), "disk_format": "raw", "container_format": "bare",
                    **fields}
            resp = c.post("/v2/images", json=body)
            assert resp.status_code == 201, resp.text
            iid = resp.json()["id"]
            up = {"Content-Type": "application/octet-stream"}
            if store:
                up["X-Image-Meta-Store"] = store
            resp = c.put(f"/v2/images/{iid}/file", content=data, headers=up)
            assert resp.status_code == 204, resp.text
        return iid

    def image_stores(self, image_id: str) -> list[str]:
        with httpx.Client(base_url=f"{self.url}/image", timeout=120,
                          headers={"X-Auth-Token": self.token}) as c:
            resp = c.get(f"/v2/images/{image_id}")
            assert resp.status_code == 200, resp.text
            return [s for s in resp.json().get("stores", "").split(",") if s]

    def delete_image(self, image_id: str) -> None:
        with httpx.Client(base_url=f"{self.url}/image", timeout=120,
                          headers={"X-Auth-Token": self.token}) as c:
            assert c.delete(f"/v2/images/{image_id}").status_code == 204


@dataclass
class User:
    name: str
    password: str
    project: str
    project_id: str
    api: VolumeApi


def fault(resp: httpx.Response, status: int) -> str:
    """The message of a Cinder-shaped error with that status (asserting the shape)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert len(body) == 1, body
    (name, inner), = body.items()
    assert inner["code"] == status and isinstance(inner["message"], str), body
    return str(inner["message"])


# ------------------------------------------------------------------ looking into pools

def rbd_cli(info: Any, *args: str) -> Any:
    """The `rbd` CLI against a test cluster, JSON out."""
    res = subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), *args, "--format", "json"],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(res.stdout) if res.stdout.strip() else None


async def _pool_devices(settings: Settings, section: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, target in getattr(settings, section).items():
        backend = make_backend(settings, target.cluster)
        await backend.open()
        try:
            out[name] = sorted(await backend.list_devices(target.pool))
        except NotFound:
            out[name] = []
        finally:
            await backend.close()
    return out


def pool_devices(settings: Settings, section: str = "volume_backends") -> dict[str, list[str]]:
    return asyncio.run(_pool_devices(settings, section))


async def _read(settings: Settings, cluster: str, pool: str, name: str, length: int) -> bytes:
    backend = make_backend(settings, cluster)
    await backend.open()
    try:
        return await backend.read(DeviceRef(pool, name), 0, length)
    finally:
        await backend.close()


def read_device(settings: Settings, backend: str, volume_id: str, length: int) -> bytes:
    target = settings.volume_backends[backend]
    return asyncio.run(_read(settings, target.cluster, target.pool, f"volume-{volume_id}",
                             length))


def wait_for(check: Any, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held")
        time.sleep(0.2)


def cinder(server_url: str, user: str, password: str, project: str, *args: str,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    return os_cli("cinder", server_url, user, password, project, *args, check=check)
