"""Small helpers of the qemu driver's tests: the guest's markers, waiting on its console."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cowcloud.hypervisor import GuestDisk, GuestSpec
from cowcloud.hypervisor.driver import Driver, PowerState
from cowcloud.storage import BaseBackend, DeviceRef, MiB

# What scripts/guest-image's /init does: it reads the first 512 bytes of /dev/vda and writes its
# own marker at 1 MiB.
GUEST_MARK_OFFSET = 1 * MiB
# Under TCG on a loaded 2-core machine a boot takes seconds to tens of seconds: generous, never
# a speed claim.
BOOT_TIMEOUT = 240.0


@dataclass(frozen=True)
class GuestImage:
    kernel: Path
    initrd: Path


def image_mark(tag: str) -> bytes:
    return f"cowcloud-image-mark:{tag}\n".encode()


def guest_mark(tag: str) -> bytes:
    return f"cowcloud-guest-mark:{tag}\n".encode()


def spec_for(image: GuestImage, disks: tuple[GuestDisk, ...], mark: str, *, wait: bool = False,
             guest_id: str | None = None) -> GuestSpec:
    cmdline = f"console=ttyS0 cowcloud.mark={mark}" + (" cowcloud.then=wait" if wait else "")
    return GuestSpec(uuid=guest_id or str(uuid.uuid4()), name="hv-test", vcpus=1,
                     memory_mib=256, disks=disks, kernel=image.kernel, initrd=image.initrd,
                     cmdline=cmdline)


async def make_marked(backend: BaseBackend, dev: DeviceRef, mark: bytes,
                      size: int = 16 * MiB) -> None:
    await backend.create(dev, size)
    await backend.write(dev, 0, mark + b"\0" * (512 - len(mark)))


async def until(what: str, check: Callable[[], Awaitable[bool]] | Callable[[], bool],
                timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        res = check()
        if not isinstance(res, bool):
            res = await res
        if res:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.2)


async def until_console(driver: Driver, guest: str, text: str, count: int = 1,
                        timeout: float = BOOT_TIMEOUT) -> None:
    try:
        await until(f"{text!r} x{count} on the console of {guest}",
                    lambda: driver.console_log(guest).count(text) >= count, timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- console:\n{driver.console_log(guest, 40)}") from None


async def until_state(driver: Driver, guest: str, state: PowerState,
                      timeout: float = BOOT_TIMEOUT) -> None:
    async def check() -> bool:
        return await driver.state(guest) == state
    await until(f"{guest} {state.value}", check, timeout)


def processes_naming(path: Path) -> list[int]:
    """Pids of the processes whose command line names `path` (a guest's QEMU and its wrapper)."""
    found = []
    needle = str(path).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found

