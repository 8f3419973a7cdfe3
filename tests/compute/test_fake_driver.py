"""The fake driver keeps the driver contract: exists/not-found, idempotent stops, state that
survives a restart of its agent, no secret on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowcloud.hypervisor.driver import (
    FileDisk,
    GuestDisk,
    GuestExists,
    GuestNotFound,
    GuestSpec,
    PowerState,
    RbdDisk,
)
from cowcloud.hypervisor.fake import FakeDriver


def spec(uuid: str = "u1") -> GuestSpec:
    rbd = RbdDisk("vms", f"{uuid}_disk", "/etc/ceph/ceph.conf", "cinder", key="SECRET-KEY==")
    return GuestSpec(uuid, "vm", 1, 128, (GuestDisk(rbd, "root"),))


async def test_lifecycle(tmp_path: Path) -> None:
    d = FakeDriver(tmp_path)
    await d.spawn(spec())
    with pytest.raises(GuestExists):
        await d.spawn(spec())
    assert await d.state("u1") == PowerState.RUNNING
    assert len(d.console_log("u1").splitlines()) >= 3  # a boot of a few lines
    await d.power_off("u1")
    await d.power_off("u1")  # idempotent
    assert await d.state("u1") == PowerState.SHUTDOWN
    await d.power_on("u1")
    await d.reboot("u1", hard=True)
    assert await d.state("u1") == PowerState.RUNNING
    await d.attach_disk("u1", GuestDisk(FileDisk(tmp_path / "v.qcow2"), "vol-1"))
    await d.detach_disk("u1", "vol-1")
    assert "hard reboot" in d.console_log("u1")
    assert d.console_log("u1", 1) == "hard reboot\n"
    assert "SECRET-KEY" not in (tmp_path / "u1.json").read_text()
    assert await FakeDriver(tmp_path).guests() == ["u1"]  # a restarted agent finds it
    await d.destroy("u1")
    await d.destroy("u1")
    assert await d.guests() == []
    with pytest.raises(GuestNotFound):
        await d.state("u1")


async def test_power_on_takes_the_spec_again(tmp_path: Path) -> None:
    """The contract's restarted agent hands the spec back to power_on."""
    d = FakeDriver(tmp_path)
    await d.spawn(spec())
    await d.power_off("u1")
    again = GuestSpec("u1", "vm", 1, 128, (GuestDisk(FileDisk(tmp_path / "r.qcow2"), "root"),))
    await FakeDriver(tmp_path).power_on("u1", again)
    assert await d.state("u1") == PowerState.RUNNING
    assert "r.qcow2" in (tmp_path / "u1.json").read_text()
