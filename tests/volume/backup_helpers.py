"""What the backup tests share: taking and waiting for backups over the API, writing known
bytes straight into a volume's device, and looking at devices and snapshots in the pools."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cowcloud.config import Settings
from cowcloud.storage import DeviceRef
from cowcloud.storage.errors import NotFound
from cowcloud.storage.registry import make_backend

from .helpers import VolumeApi, unique

MiB = 1 << 20


def backup(api: VolumeApi, volume_id: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("name", unique("bak"))
    resp = api.post("/backups", json={"backup": {"volume_id": volume_id, **spec}})
    assert resp.status_code == 202, resp.text
    return resp.json()["backup"]


def show(api: VolumeApi, backup_id: str, **kw: Any) -> dict[str, Any]:
    resp = api.get(f"/backups/{backup_id}", **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()["backup"]


def wait_backup(api: VolumeApi, backup_id: str, status: str = "available",
                timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = show(api, backup_id)
        if found["status"] == status:
            return found
        assert found["status"] != "error" or status == "error", found
        assert time.monotonic() < deadline, f"backup never got {status}: {found}"
        time.sleep(0.1)


def backed_up(api: VolumeApi, volume_id: str, **spec: Any) -> dict[str, Any]:
    return wait_backup(api, backup(api, volume_id, **spec)["id"])


def backup_gone(api: VolumeApi, backup_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/backups/{backup_id}").status_code != 404:
        assert time.monotonic() < deadline, f"backup {backup_id} never went"
        time.sleep(0.1)


def restore(api: VolumeApi, backup_id: str, **spec: Any) -> dict[str, Any]:
    resp = api.post(f"/backups/{backup_id}/restore", json={"restore": spec})
    assert resp.status_code == 202, resp.text
    out = resp.json()["restore"]
    api.wait(out["volume_id"])
    wait_backup(api, backup_id)
    return dict(out)


async def _with_backend(settings: Settings, cluster: str, work: Any) -> Any:
    backend = make_backend(settings, cluster)
    await backend.open()
    try:
        return await work(backend)
    finally:
        await backend.close()


def write_volume(settings: Settings, backend: str, volume_id: str, offset: int,
                 data: bytes) -> None:
    """Known bytes straight into the volume's device, as a guest would write them."""
    target = settings.volume_backends[backend]
    dev = DeviceRef(target.pool, f"volume-{volume_id}")
    asyncio.run(_with_backend(settings, target.cluster,
                              lambda b: b.write(dev, offset, data)))


def read_volume(settings: Settings, backend: str, volume_id: str, offset: int,
                length: int) -> bytes:
    target = settings.volume_backends[backend]
    dev = DeviceRef(target.pool, f"volume-{volume_id}")
    return bytes(asyncio.run(_with_backend(settings, target.cluster,
                                           lambda b: b.read(dev, offset, length))))


def snapshots_of(settings: Settings, section: str, name: str, device: str) -> list[str]:
    """Snapshot names of a device in a target's pool ([] when the device is not there)."""
    target = getattr(settings, section)[name]

    async def work(b: Any) -> list[str]:
        try:
            return sorted(s.ref.name for s in await b.snapshots(DeviceRef(target.pool, device)))
        except NotFound:
            return []
    return list(asyncio.run(_with_backend(settings, target.cluster, work)))


def on_server(srv: Any, cluster: str, work: Any) -> Any:
    """work(backend) with the server's own opened backend, on its event loop: a local qcow2
    device the server has open cannot be opened for writing by a second process."""
    runtime = srv.app.state.runtime
    loop = runtime.tasks._loop  # the server thread's loop (set when its runtime started)
    return asyncio.run_coroutine_threadsafe(work(runtime.clusters[cluster]), loop).result(120)
