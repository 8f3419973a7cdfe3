"""The qemu driver with real guests (TCG): Debian's cloud kernel and a busybox /init that reads
the image's marker from its first disk and writes its own (scripts/guest-image)."""

from __future__ import annotations

import os
import signal
import stat
import uuid
from pathlib import Path

import pytest

from cowcloud.hypervisor import FileDisk, GuestDisk, GuestSpec, PowerState, RbdDisk
from cowcloud.hypervisor.driver import GuestExists, GuestNotFound, HypervisorError
from cowcloud.hypervisor.guestdir import GuestDir
from cowcloud.hypervisor.probe import boot_sector
from cowcloud.hypervisor.qemu import KeysUnknown, QemuDriver
from cowcloud.storage import DeviceRef, MiB

from .conftest import CephUser
from .helpers import (
    GUEST_MARK_OFFSET,
    GuestImage,
    guest_mark,
    image_mark,
    make_marked,
    processes_naming,
    spec_for,
    until_console,
    until_state,
)

pytestmark = pytest.mark.ceph


async def cow_clone(rbd, prefix: str, tag: str) -> DeviceRef:  # type: ignore[no-untyped-def]
    """An image with a marker, its protected `snap`, and a root disk cloned from it, as
    issue 11 places a server's `<id>_disk`."""
    image = DeviceRef("rbd", f"{prefix}-image")
    await make_marked(rbd, image, image_mark(tag))
    snap = await rbd.snapshot(image, "snap")
    await rbd.protect(snap)
    disk = DeviceRef("rbd", f"{prefix}_disk")
    await rbd.clone(snap, disk)
    return disk


async def remove(rbd, prefix: str) -> None:  # type: ignore[no-untyped-def]
    for name in sorted(await rbd.list_devices("rbd"), key=lambda n: "_disk" not in n):
        if name.startswith(prefix):
            ref = DeviceRef("rbd", name)
            for owner in await rbd.lock_owners(ref):
                await rbd.break_lock(ref, owner)
            for snap in await rbd.snapshots(ref):
                if snap.protected:
                    await rbd.unprotect(snap.ref)
            await rbd.remove(ref, with_snapshots=True, missing_ok=True)


def rbd_disk(user: CephUser, dev: DeviceRef, serial: str) -> GuestDisk:
    return GuestDisk(RbdDisk(dev.pool, dev.name, user.conf, user.user, user.key), serial)


@pytest.fixture
async def clone(rbd, prefix: str, driver: QemuDriver):  # type: ignore[no-untyped-def]
    disk = await cow_clone(rbd, prefix, prefix)
    yield disk
    for guest in await driver.guests():   # a running guest keeps its disks open
        await driver.destroy(guest)
    await remove(rbd, prefix)


async def test_guest_boots_from_an_rbd_cow_clone(driver: QemuDriver, guest_image: GuestImage,
                                                 ceph_user: CephUser, rbd, clone: DeviceRef,
                                                 prefix: str) -> None:
    spec = spec_for(guest_image, (rbd_disk(ceph_user, clone, "root"),), "fromrbd")
    await driver.spawn(spec)
    await until_state(driver, spec.uuid, PowerState.SHUTDOWN)   # it powers itself off

    console = driver.console_log(spec.uuid)
    assert f"cowcloud-guest: read {image_mark(prefix).decode().strip()}" in console
    assert "cowcloud-guest: wrote fromrbd" in console
    # Both markers on the clone; the image it was cloned from is untouched.
    assert (await rbd.read(clone, 0, 64)).startswith(image_mark(prefix))
    assert (await rbd.read(clone, GUEST_MARK_OFFSET, 64)).startswith(guest_mark("fromrbd"))
    image = DeviceRef("rbd", f"{prefix}-image")
    assert await rbd.read(image, GUEST_MARK_OFFSET, 64) == b"\0" * 64
    # A guest that powered itself off is stopped, not crashed, and is still defined.
    assert await driver.state(spec.uuid) == PowerState.SHUTDOWN
    assert spec.uuid in await driver.guests()


async def test_guest_boots_from_a_local_qcow2_overlay(driver: QemuDriver,
                                                      guest_image: GuestImage,
                                                      tmp_path: Path) -> None:
    from cowcloud.storage.local.backend import LocalBackend
    local = LocalBackend("local", path=tmp_path / "local")
    await local.open()
    try:
        await local.create_pool("rbd")
        image = DeviceRef("rbd", "image")
        await make_marked(local, image, image_mark("local"))
        snap = await local.snapshot(image, "snap")
        await local.protect(snap)
        disk = DeviceRef("rbd", "srv_disk")
        await local.clone(snap, disk)
        async with local.qemu_node(disk) as node:   # the overlay's top file, held for the guest
            assert node["driver"] == "qcow2"
            path = Path(node["file"]["filename"])
            spec = spec_for(guest_image, (GuestDisk(FileDisk(path, "qcow2"), "root"),), "fromfile")
            await driver.spawn(spec)
            await until_state(driver, spec.uuid, PowerState.SHUTDOWN)
        console = driver.console_log(spec.uuid)
        assert "cowcloud-guest: read cowcloud-image-mark:local" in console
        assert "cowcloud-guest: wrote fromfile" in console
        assert (await local.read(disk, 0, 64)).startswith(image_mark("local"))
        assert (await local.read(disk, GUEST_MARK_OFFSET, 64)).startswith(guest_mark("fromfile"))
        assert await local.read(image, GUEST_MARK_OFFSET, 64) == b"\0" * 64
    finally:
        await local.close()


async def test_cephx_key_is_on_no_command_line_and_in_no_file(
        driver: QemuDriver, guest_image: GuestImage, ceph_user: CephUser,
        clone: DeviceRef) -> None:
    spec = spec_for(guest_image, (rbd_disk(ceph_user, clone, "root"),), "secret", wait=True)
    await driver.spawn(spec)
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting")   # it did read the disk

    gd = GuestDir(driver.state_dir / spec.uuid)
    assert stat.S_IMODE(gd.path.stat().st_mode) == 0o700
    pids = processes_naming(gd.path)
    assert gd.qemu_pid() in pids and len(pids) == 2   # QEMU and the shell waiting for it
    key = ceph_user.key.encode()
    for pid in pids:
        for what in ("cmdline", "environ"):
            assert key not in Path(f"/proc/{pid}/{what}").read_bytes(), (pid, what)
    files = [p for p in gd.path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"spec.json", "console.log", "qemu.log", "qemu.pid"}
    for p in files:
        assert key not in p.read_bytes(), p
    assert repr(key.decode()) not in repr(spec)


async def test_power_off_power_on_reboot_and_destroy(driver: QemuDriver,
                                                     guest_image: GuestImage,
                                                     ceph_user: CephUser,
                                                     clone: DeviceRef, tmp_path: Path) -> None:
    spec = spec_for(guest_image, (rbd_disk(ceph_user, clone, "root"),), "cycle", wait=True)
    await driver.spawn(spec)
    with pytest.raises(GuestExists):
        await driver.spawn(spec)
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting")
    assert await driver.state(spec.uuid) == PowerState.RUNNING

    # ACPI power button: the guest's acpid powers it off by itself, within the timeout.
    await driver.power_off(spec.uuid, timeout=120)
    assert "cowcloud-guest: power button" in driver.console_log(spec.uuid)
    assert await driver.state(spec.uuid) == PowerState.SHUTDOWN
    assert not processes_naming(driver.state_dir / spec.uuid)
    await driver.power_off(spec.uuid)   # already off: nothing to do
    # A disk attached to a stopped guest is there at its next start.
    cold = tmp_path / "cold.raw"
    cold.write_bytes(b"cowcloud-cold-mark\n".ljust(1 * MiB, b"\0"))
    await driver.attach_disk(spec.uuid, GuestDisk(FileDisk(cold, "raw"), "cold"))

    await driver.power_on(spec.uuid)    # the keys are still in this driver's memory
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting", count=2)
    await until_console(driver, spec.uuid, "disk vdb serial=cold cowcloud-cold-mark")
    await driver.power_on(spec.uuid)    # already on: nothing to do
    assert await driver.state(spec.uuid) == PowerState.RUNNING

    await driver.reboot(spec.uuid, hard=True)   # a reset: the same QEMU boots again
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting", count=3)
    await driver.reboot(spec.uuid)              # soft: power button, then a new QEMU
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting", count=4)
    assert driver.console_log(spec.uuid).count("cowcloud-guest: power button") == 2
    await until_console(driver, spec.uuid, "disk vdb serial=cold", count=3)
    # the last lines only (the kernel may still print between the guest's lines: compare
    # with the whole log read around it, unchanged meanwhile)
    for _ in range(50):
        before = driver.console_log(spec.uuid)
        tail = driver.console_log(spec.uuid, 2).splitlines()
        if driver.console_log(spec.uuid) == before:
            break
    assert len(tail) == 2 and tail == before.splitlines()[-2:]

    folder = driver.state_dir / spec.uuid
    await driver.destroy(spec.uuid)
    assert not processes_naming(folder)
    assert not folder.exists()
    assert spec.uuid not in await driver.guests()
    await driver.destroy(spec.uuid)   # gone already: succeeds
    with pytest.raises(GuestNotFound):
        await driver.state(spec.uuid)


async def test_a_restarted_agent_finds_its_guests(driver: QemuDriver, guest_image: GuestImage,
                                                  ceph_user: CephUser, clone: DeviceRef) -> None:
    spec = spec_for(guest_image, (rbd_disk(ceph_user, clone, "root"),), "restart", wait=True)
    await driver.spawn(spec)
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting")

    # A new driver on the same folder, as an agent restarted after a crash has.
    again = QemuDriver(driver.state_dir, accel="tcg")
    assert await again.guests() == [spec.uuid]
    assert await again.state(spec.uuid) == PowerState.RUNNING
    # A soft reboot would need the keys to start again: refused before the guest is stopped.
    with pytest.raises(KeysUnknown):
        await again.reboot(spec.uuid)
    assert await again.state(spec.uuid) == PowerState.RUNNING
    await again.power_off(spec.uuid, timeout=120)
    assert await again.state(spec.uuid) == PowerState.SHUTDOWN
    # The keys were in the old driver's memory only: the agent passes the spec again.
    with pytest.raises(KeysUnknown):
        await again.power_on(spec.uuid)
    await again.power_on(spec.uuid, spec)
    await until_console(again, spec.uuid, "cowcloud-guest: waiting", count=2)
    # On a running guest the spec only teaches a driver the keys: then it can soft-reboot.
    third = QemuDriver(driver.state_dir, accel="tcg")
    await third.power_on(spec.uuid, spec)
    assert driver.console_log(spec.uuid).count("cowcloud-guest: waiting") == 2
    await third.reboot(spec.uuid)
    await until_console(third, spec.uuid, "cowcloud-guest: waiting", count=3)

    # QEMU killed from outside: the guest crashed.
    pid = GuestDir(driver.state_dir / spec.uuid).qemu_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await until_state(again, spec.uuid, PowerState.CRASHED, timeout=30)
    assert await driver.state(spec.uuid) == PowerState.CRASHED
    await again.destroy(spec.uuid)
    assert await driver.guests() == []


async def test_attach_and_detach_an_rbd_disk_live(driver: QemuDriver, guest_image: GuestImage,
                                                  ceph_user: CephUser, rbd, clone: DeviceRef,
                                                  prefix: str) -> None:
    spec = spec_for(guest_image, (rbd_disk(ceph_user, clone, "root"),), "hotplug", wait=True)
    await driver.spawn(spec)
    await until_console(driver, spec.uuid, "cowcloud-guest: waiting")

    volume = DeviceRef("rbd", f"{prefix}-volume")
    await make_marked(rbd, volume, b"cowcloud-volume-mark:" + prefix.encode() + b"\n", 8 * MiB)
    serial = "0123456789abcdef0123456789"   # a volume id: virtio keeps its first 20 characters
    await driver.attach_disk(spec.uuid, rbd_disk(ceph_user, volume, serial))
    await until_console(driver, spec.uuid,
                        f"cowcloud-guest: disk vdb serial={serial[:20]} "
                        f"cowcloud-volume-mark:{prefix}")
    with pytest.raises(Exception, match="already has a disk"):
        await driver.attach_disk(spec.uuid, rbd_disk(ceph_user, volume, serial))
    assert [d.serial for d in GuestDir(driver.state_dir / spec.uuid).load()[0].disks] == \
        ["root", serial]

    await driver.detach_disk(spec.uuid, serial)
    await until_console(driver, spec.uuid, "cowcloud-guest: gone vdb")
    assert [d.serial for d in GuestDir(driver.state_dir / spec.uuid).load()[0].disks] == ["root"]
    await driver.detach_disk(spec.uuid, serial)   # not attached: nothing to do
    with pytest.raises(Exception, match="boot disk"):
        await driver.detach_disk(spec.uuid, "root")
    # The disk is free again: the guest's librbd client has let go of it (no watcher).
    assert await rbd.lock_owners(volume) == []
    await driver.attach_disk(spec.uuid, rbd_disk(ceph_user, volume, "again"))
    await until_console(driver, spec.uuid, "cowcloud-guest: disk vdb serial=again")
    assert await driver.state(spec.uuid) == PowerState.RUNNING


async def test_a_wrong_key_fails_the_spawn_and_leaves_nothing(
        driver: QemuDriver, guest_image: GuestImage, ceph_user: CephUser,
        clone: DeviceRef) -> None:
    bad = RbdDisk(clone.pool, clone.name, ceph_user.conf, ceph_user.user,
                  "AQBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")
    spec = spec_for(guest_image, (GuestDisk(bad, "root"),), "nokey")
    with pytest.raises(HypervisorError, match="did not start") as err:
        await driver.spawn(spec)
    assert bad.key not in str(err.value)
    assert not (driver.state_dir / spec.uuid).exists()
    assert not processes_naming(driver.state_dir)
    assert await driver.guests() == []


async def test_a_missing_disk_file_is_refused_before_anything_runs(
        driver: QemuDriver, guest_image: GuestImage, tmp_path: Path) -> None:
    spec = spec_for(guest_image, (GuestDisk(FileDisk(tmp_path / "nope.qcow2"), "root"),), "x")
    with pytest.raises(Exception, match="no such file"):
        await driver.spawn(spec)
    assert await driver.guests() == []


async def test_a_guest_without_a_kernel_boots_its_first_disk(driver: QemuDriver,
                                                             tmp_path: Path) -> None:
    disks = []
    for name in ("first", "second"):   # both bootable: the firmware must take the boot disk
        path = tmp_path / f"{name}.raw"
        path.write_bytes(boot_sector(f"cowcloud-mbr: {name}").ljust(1 * MiB, b"\0"))
        disks.append(GuestDisk(FileDisk(path, "raw"), name))
    # With a user-mode NIC (its iPXE ROM must not win the boot either).
    spec = GuestSpec(uuid=str(uuid.uuid4()), name="mbr", vcpus=1, memory_mib=64,
                     disks=tuple(disks), nic="user")
    await driver.spawn(spec)
    await until_console(driver, spec.uuid, "cowcloud-mbr: first")
    assert "cowcloud-mbr: second" not in driver.console_log(spec.uuid)
    assert await driver.state(spec.uuid) == PowerState.RUNNING   # halted, but still running
