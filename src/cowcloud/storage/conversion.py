"""Disk image formats read by qemu-img, on any backend: a safety probe and conversion to raw.

The data of an uploaded image sits in a device as the user sent it (a qcow2 file's bytes, say).
Each backend presents a device to qemu as a block node (`qemu_node`): RBD through qemu's own
librbd client, a local qcow2 device through its qcow2 layer. The image format is named on top
(`{"driver": "vmdk", "file": <device node>}`): qemu never guesses a format from content (how
crafted headers get honoured, CVE-2026-24708), and nothing is staged on this host's disk.

`probe` re-checks with qemu what header inspection (formats.py) already refused, as qemu itself
understands the data: backing files, qcow2 external data files, VMDK types with extent files,
and a virtual size it can state. Callers probe before they trust a virtual size or convert.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

from .base import BaseBackend
from .contract import DeviceRef, SnapRef
from .errors import InvalidArgument, Unavailable, UnsafeImage
from .formats import VMDK_ALLOWED_TYPES

# Glance disk_format -> qemu driver, for the formats qemu-img reads and converts.
QEMU_FORMATS = {"qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx", "vdi": "vdi"}
PROBE_TIMEOUT = 60.0
_ENV = {**os.environ, "LC_ALL": "C"}


class ConversionFailed(InvalidArgument):
    """qemu-img could not read the data as the format it was declared in."""


@dataclass(frozen=True)
class Probe:
    format: str  # the disk_format asked for
    virtual_size: int


def convertible(disk_format: str | None) -> bool:
    return disk_format in QEMU_FORMATS


def _json_name(node: dict[str, Any]) -> str:
    return "json:" + json.dumps(node, separators=(",", ":"))


def _image_opts(node: dict[str, Any], prefix: str = "") -> str:
    """qemu's dotted key=value form of a node; commas in values are doubled, as qemu wants."""
    parts = []
    for key, value in node.items():
        if isinstance(value, dict):
            parts.append(_image_opts(value, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key}={str(value).replace(',', ',,')}")
    return ",".join(parts)


async def _qemu_img(what: str, *args: str, timeout: float | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", *args, env=_ENV, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException as exc:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if isinstance(exc, asyncio.TimeoutError):
            raise Unavailable(f"{what}: qemu-img took longer than {timeout:.0f} s") from None
        raise
    if proc.returncode != 0:
        lines = [ln for ln in err.decode(errors="replace").splitlines()
                 if ln.strip() and "deprecated" not in ln]
        raise ConversionFailed(f"{what}: {lines[-1] if lines else 'qemu-img failed'}")
    return out.decode(errors="replace")


async def probe(backend: BaseBackend, what: DeviceRef | SnapRef, disk_format: str) -> Probe:
    """`qemu-img info` of the data in `what` read as `disk_format`; refuses what must never be
    opened further (UnsafeImage) or what qemu cannot read as that format (ConversionFailed)."""
    fmt = QEMU_FORMATS[disk_format]
    async with backend.qemu_node(what) as node:
        out = await _qemu_img(f"image data could not be read as {disk_format}",
                              "info", "--output=json", _json_name({"driver": fmt, "file": node}),
                              timeout=PROBE_TIMEOUT)
    info: dict[str, Any] = json.loads(out)
    if info.get("format") != fmt:
        raise UnsafeImage(f"qemu-img reads the data as {info.get('format')}, not {fmt}")
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage("image refused: it has a backing file")
    data = (info.get("format-specific") or {}).get("data") or {}
    if data.get("data-file"):
        raise UnsafeImage("image refused: qcow2 has an external data file")
    if fmt == "vmdk" and data.get("create-type") not in VMDK_ALLOWED_TYPES:
        # the allowed types keep their data in the one file; the others name extent files
        raise UnsafeImage(f"image refused: VMDK type {data.get('create-type')!r} is not allowed")
    size = info.get("virtual-size")
    if not isinstance(size, int) or size <= 0:
        raise UnsafeImage("image refused: no virtual size")
    return Probe(disk_format, size)


async def to_raw(src_backend: BaseBackend, src: DeviceRef | SnapRef, disk_format: str,
                 dst_backend: BaseBackend, dst: DeviceRef) -> None:
    """Writes the disk that `src` holds in `disk_format` as plain bytes into `dst`, an existing,
    zeroed device of at least the virtual size (probe first): holes are skipped, writes may
    land out of order for speed. The output can never outgrow `dst`."""
    fmt = QEMU_FORMATS[disk_format]
    async with src_backend.qemu_node(src) as src_node, dst_backend.qemu_node(dst) as dst_node:
        await _qemu_img(f"image data could not be converted from {disk_format}",
                        "convert", "-n", "--target-is-zero", "-W", "-m", "8", "-t", "writeback",
                        _json_name({"driver": fmt, "file": src_node}),
                        "--target-image-opts", _image_opts(dst_node))


async def to_file(src_backend: BaseBackend, src: DeviceRef | SnapRef, disk_format: str,
                  path: str) -> None:
    """Writes the raw disk in `src` as a new `disk_format` file at `path` (qemu-img builds the
    format's metadata there, which needs a seekable file: the caller streams it on)."""
    fmt = QEMU_FORMATS[disk_format]
    async with src_backend.qemu_node(src) as src_node:
        await _qemu_img(f"the disk could not be converted to {disk_format}",
                        "convert", "-O", fmt, _json_name(src_node), path)
