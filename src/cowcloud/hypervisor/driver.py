"""What a compute agent asks of a hypervisor: run a guest made of the disks it is handed, change
its power state, add and remove disks, keep its console, and say which guests run.

Drivers know nothing of servers, flavors, images or the database (they sit beside storage in the
layers): the agent turns an instance into a GuestSpec, a driver turns a GuestSpec into a guest.
Two drivers keep this contract: `qemu` (qemu-system-x86_64 driven over QMP, as incus does) and
`fake` (no guest; scale tests). A driver keeps what it needs per guest under its own state folder,
so an agent restarted after a crash finds its guests (or their remains) with `guests()`.

Secrets: an RbdDisk carries the cephx key because the guest's librbd needs it, the way Nova hands
libvirt a secret. A driver must never put it on a command line, in a log, or in a file others can
read; `repr` leaves it out.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Conflict, Error, NotFound


class HypervisorError(Error):
    """The hypervisor failed to do what was asked (qemu would not start, QMP refused)."""
    status = 500


class GuestNotFound(NotFound):
    pass


class GuestExists(Conflict):
    pass


class PowerState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"   # defined but not running (powered off, or its process ended)
    CRASHED = "crashed"     # its process died without being asked to stop


@dataclass(frozen=True)
class RbdDisk:
    """An RBD image the guest reads through its own librbd, as Nova's libvirt driver attaches
    Cinder volumes and rbd root disks: mons from `conf`, cephx `user` (without "client.")."""
    pool: str
    image: str
    conf: str
    user: str
    key: str = field(repr=False)   # the cephx secret, base64 as in a keyring


@dataclass(frozen=True)
class FileDisk:
    """A disk file on this host: a qcow2 overlay of the local backend, or a raw file."""
    path: Path
    format: str = "qcow2"


@dataclass(frozen=True)
class GuestDisk:
    source: RbdDisk | FileDisk
    # The guest sees this as the disk's serial (/dev/disk/by-id/virtio-<serial>): "root" for the
    # root disk, a volume's id for an attached volume (20 characters are kept, as virtio does).
    serial: str
    readonly: bool = False


@dataclass(frozen=True)
class GuestSpec:
    uuid: str
    name: str
    vcpus: int
    memory_mib: int
    disks: tuple[GuestDisk, ...]          # the first one is the boot disk
    nic: str = "none"                     # "none" or "user" (a user-mode NIC; no Neutron)
    # Direct kernel boot, as Nova does for images with kernel_id/ramdisk_id properties; the
    # agent fetches both to files first. None: boot the first disk's own boot loader.
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str = ""


class Driver(ABC):
    """One hypervisor on one host. Every method is idempotent where its name allows it: a
    destroy of a guest that is gone succeeds, a power_off of a stopped guest does nothing."""

    name: str

    @abstractmethod
    async def spawn(self, spec: GuestSpec) -> None:
        """Define and start a guest; GuestExists if `spec.uuid` is already defined. On failure
        nothing of the guest is left (no process, no state folder)."""

    @abstractmethod
    async def power_off(self, uuid: str, timeout: float = 10.0) -> None:
        """Ask the guest to shut down (ACPI), kill it after `timeout` seconds."""

    @abstractmethod
    async def power_on(self, uuid: str, spec: GuestSpec | None = None) -> None:
        """Start a defined guest again with the spec it was spawned with. Drivers keep secrets
        in memory only: an agent restarted since the spawn passes the whole spec again (keys
        included), which replaces the stored one."""

    @abstractmethod
    async def reboot(self, uuid: str, hard: bool = False) -> None: ...

    @abstractmethod
    async def destroy(self, uuid: str) -> None:
        """Stop the guest (no grace) and forget it; its disks are the agent's to remove."""

    @abstractmethod
    async def state(self, uuid: str) -> PowerState:
        """GuestNotFound if the driver has no such guest."""

    @abstractmethod
    async def guests(self) -> list[str]:
        """The uuids of the guests defined on this host, running or not."""

    @abstractmethod
    async def attach_disk(self, uuid: str, disk: GuestDisk) -> None: ...

    @abstractmethod
    async def detach_disk(self, uuid: str, serial: str) -> None: ...

    @abstractmethod
    def console_log(self, uuid: str, length: int | None = None) -> str:
        """What the guest wrote to its serial console, the last `length` lines if given."""
