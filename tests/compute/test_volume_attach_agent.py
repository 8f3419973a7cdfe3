"""The agent's side of a volume attach, on the fake driver: work handed out again after the
agent died before reporting is done again without failing (a driver such as qemu refuses a
serial the guest already has), and a guest that is gone still fails it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cowcloud.agent import volumes
from cowcloud.config import embedded_default
from cowcloud.errors import Conflict
from cowcloud.hypervisor.driver import GuestDisk, GuestNotFound, GuestSpec
from cowcloud.hypervisor.fake import FakeDriver


class RefusingTwice(FakeDriver):
    """The fake driver, refusing a serial the guest has as the qemu driver does."""

    async def attach_disk(self, uuid: str, disk: GuestDisk) -> None:
        if any(d["serial"] == disk.serial for d in self._load(uuid)["disks"]):
            raise Conflict(f"guest {uuid} already has a disk with serial {disk.serial}")
        await super().attach_disk(uuid, disk)


def test_attach_handed_out_again_succeeds(tmp_path: Path) -> None:
    settings = embedded_default(tmp_path)
    driver = RefusingTwice(tmp_path / "fake")
    layer = tmp_path / "volume-v1.qcow2"
    layer.write_bytes(b"")
    work: dict[str, Any] = {"server_id": "g1", "volume_id": "v1", "cluster_id": None,
                            "connection_info": {"driver_volume_type": "local",
                                                "device_path": str(layer),
                                                "format": "qcow2", "access_mode": "rw"}}

    async def run() -> None:
        await driver.spawn(GuestSpec("g1", "g1", 1, 64, ()))
        for _ in range(2):
            assert await volumes.handle(settings, None, driver,  # type: ignore[arg-type]
                                        volumes.ATTACH, work) == {"ok": True}
        record = driver._load("g1")
        assert [d["serial"] for d in record["disks"]] == ["v1"]
        with pytest.raises(GuestNotFound):
            await volumes.handle(settings, None, driver,  # type: ignore[arg-type]
                                 volumes.ATTACH, {**work, "server_id": "gone"})
    asyncio.run(run())
