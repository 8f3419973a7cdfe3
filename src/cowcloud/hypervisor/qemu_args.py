"""What the qemu driver tells QEMU: its command line (no disks, no secrets: those go over QMP)
and the QMP arguments that add a disk. Pure functions, so they are read and tested apart."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from .driver import FileDisk, GuestDisk, GuestSpec, RbdDisk

# Seccomp as libvirt turns it on: QEMU may not fork/exec, raise privileges or change
# scheduling; what a guest breaks out into is a process that can do little.
SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

# virtio-blk keeps 20 bytes of serial (VIRTIO_BLK_ID_BYTES).
SERIAL_BYTES = 20


def esc(value: object) -> str:
    """A value inside a QEMU option list, where a comma separates options."""
    return str(value).replace(",", ",,")


def command_line(qemu: str, spec: GuestSpec, accel: str, *, qmp: Path, status: Path,
                 console: Path, pidfile: Path) -> list[str]:
    argv = [
        qemu,
        "-name", f"guest=cowcloud-{spec.uuid},debug-threads=on",
        "-machine", f"pc,accel={accel}",
        "-smp", str(spec.vcpus),
        "-m", f"{spec.memory_mib}M",
        # Nothing QEMU would add on its own (VGA, NIC, floppy, CD): only what the spec says.
        "-nodefaults", "-no-user-config", "-display", "none",
        "-S",   # paused until its disks are added over QMP and `cont` is sent
        "-qmp", f"unix:{esc(qmp)},server=on,wait=off",
        # A second monitor for state(): a QMP socket serves one client at a time, and a power-off
        # or a detach holds the first one for seconds.
        "-qmp", f"unix:{esc(status)},server=on,wait=off",
        "-chardev", f"file,id=console,path={esc(console)},append=on",
        "-serial", "chardev:console",
        "-pidfile", str(pidfile),
        "-sandbox", SANDBOX,
        "-msg", "timestamp=on",
    ]
    if _is_uuid(spec.uuid):
        argv += ["-uuid", spec.uuid]   # the guest's SMBIOS system UUID, as Nova sets it
    if accel == "kvm":
        argv += ["-cpu", "host"]
    if spec.nic == "user":
        argv += ["-nic", "user,model=virtio-net-pci"]
    else:
        argv += ["-nic", "none"]
    if spec.kernel is not None:
        argv += ["-kernel", str(spec.kernel)]
        if spec.initrd is not None:
            argv += ["-initrd", str(spec.initrd)]
        if spec.cmdline:
            argv += ["-append", spec.cmdline]
    return argv


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def names(slot: int) -> tuple[str, str, str]:
    """QOM/block ids of a disk slot: secret object, block node, device. Node names are capped at
    31 characters, so a volume id (36) cannot be one: slots number the disks instead."""
    return f"key{slot}", f"drv{slot}", f"vd{slot}"


def secret_object(slot: int, key: str) -> dict[str, Any]:
    # format=base64: QEMU decodes the keyring's base64 text into the secret's bytes and the rbd
    # driver encodes them back for librados' `key` option.
    return {"qom-type": "secret", "id": names(slot)[0], "data": key, "format": "base64"}


def blockdev(slot: int, disk: GuestDisk) -> dict[str, Any]:
    src = disk.source
    _, node, _ = names(slot)
    if isinstance(src, RbdDisk):
        file: dict[str, Any] = {
            "driver": "rbd", "pool": src.pool, "image": src.image, "conf": src.conf,
            "user": src.user, "key-secret": names(slot)[0], "auth-client-required": ["cephx"],
        }
        fmt = "raw"
    else:
        assert isinstance(src, FileDisk)
        file = {"driver": "file", "filename": str(src.path)}
        fmt = src.format
    return {"node-name": node, "driver": fmt, "file": file, "read-only": disk.readonly,
            "discard": "unmap"}


def device(slot: int, disk: GuestDisk, *, boot: bool) -> dict[str, Any]:
    _, node, dev = names(slot)
    args: dict[str, Any] = {"driver": "virtio-blk-pci", "id": dev, "drive": node,
                            "serial": disk.serial[:SERIAL_BYTES]}
    if boot:
        args["bootindex"] = 0
    return args
