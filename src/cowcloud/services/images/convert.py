"""Converting an uploaded disk image to raw for RBD stores, with qemu-img reading rbd directly.

RBD cannot COW-boot qcow2 (Nova and Cinder clone only raw images), so data that lands in an rbd
store in another format is converted once, server side: qemu-img reads the uploaded bytes from a
work device in the same cluster (`rbd:POOL/ID.convert:conf=...`) and writes the raw image into the
image's device, never through this host's disk. qemu-img always gets an explicit `-f` (a guessed
format is how crafted headers get honoured, CVE-2026-24708), and `qemu-img info` re-checks what the
header inspection already refused: backing files, qcow2 data files, VMDK types.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ...config import RbdClusterSettings
from ...storage import DeviceRef
from ...storage.errors import UnsafeImage
from ...storage.formats import VMDK_ALLOWED_TYPES
from .errors import Invalid

# Glance disk_format -> qemu-img format name, for the formats worth converting.
QEMU_FORMATS = {"qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx", "vdi": "vdi"}
INFO_TIMEOUT = 60


def convertible(disk_format: str | None) -> bool:
    return disk_format in QEMU_FORMATS


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def rbd_uri(spec: RbdClusterSettings, dev: DeviceRef) -> str:
    """qemu's rbd: filename for a device; names are storage-checked, paths are escaped."""
    parts = [f"rbd:{_esc(dev.pool)}/{_esc(dev.name)}", f"conf={_esc(spec.conf)}",
             f"id={_esc(spec.user)}"]
    if spec.keyring:
        parts.append(f"keyring={_esc(spec.keyring)}")
    return ":".join(parts)


async def _qemu_img(what: str, *args: str, timeout: float | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip().splitlines()
        raise Invalid(f"{what}: {msg[-1] if msg else 'qemu-img failed'}")
    return out.decode()


async def inspect_source(disk_format: str, uri: str) -> int:
    """`qemu-img info -f FMT` on the uploaded data; refuses what must never be opened further.
    Returns the virtual size."""
    fmt = QEMU_FORMATS[disk_format]
    out = await _qemu_img(f"image data could not be read as {disk_format}",
                          "info", "-f", fmt, "--output=json", uri, timeout=INFO_TIMEOUT)
    info: dict[str, Any] = json.loads(out)
    if info.get("format") != fmt:
        raise UnsafeImage(f"qemu-img reads the data as {info.get('format')}, not {fmt}")
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage("image refused: it has a backing file")
    data = (info.get("format-specific") or {}).get("data") or {}
    if data.get("data-file"):
        raise UnsafeImage("image refused: qcow2 has an external data file")
    if fmt == "vmdk" and data.get("create-type") not in VMDK_ALLOWED_TYPES:
        raise UnsafeImage(f"image refused: VMDK type {data.get('create-type')!r} is not allowed")
    size = info.get("virtual-size")
    if not isinstance(size, int) or size <= 0:
        raise UnsafeImage("image refused: no virtual size")
    return size


async def to_raw(disk_format: str, src_uri: str, dst_uri: str) -> None:
    """Converts into an existing, zeroed device of at least the virtual size (`-n`): holes are
    skipped, writes may land out of order (`-W`) for speed."""
    await _qemu_img(f"image data could not be converted from {disk_format}",
                    "convert", "-f", QEMU_FORMATS[disk_format], "-O", "raw", "-n",
                    "--target-is-zero", "-W", "-m", "8", src_uri, dst_uri)
