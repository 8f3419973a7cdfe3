"""A guest's kernel and initrd for a direct kernel boot (the work's `boot`, see
services/compute/kernel.py), as files on this host: each image is fetched once per host into
the agent's cache (`<state>/images/<image id>`, as nova-compute keeps them in `_base`) and
shared by every guest booting it. Where a copy of the image is in a cluster this host reaches
its bytes are read from there; otherwise the Image API's bytes are downloaded.

What a server boots with is kept beside (`<state>/boot/<server id>.json`), so a start after a
stop, or after the agent restarted, boots the same kernel."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ..block.targets import Targets
from ..config import Settings
from ..errors import Invalid
from ..storage import BaseBackend, DeviceRef
from .disks import _cluster_with

CHUNK = 4 << 20
_locks: dict[str, asyncio.Lock] = {}


class BootFilesError(Invalid):
    """The kernel or ramdisk could not be had as the image service describes it."""


class BootFiles:
    def __init__(self, settings: Settings, targets: Targets, state_dir: Path,
                 fetch: Callable[[str], AsyncIterator[bytes]]) -> None:
        self.settings = settings
        self.targets = targets
        self.cache = state_dir / "images"
        self.records = state_dir / "boot"
        self.fetch = fetch

    # ------------------------------------------------------------ per server

    def remember(self, server_id: str, boot: dict[str, Any] | None) -> None:
        self.records.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.records / f"{server_id}.json"
        if boot is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(boot))
        os.replace(tmp, path)

    def recalled(self, server_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.records / f"{server_id}.json").read_text())  # type: ignore
        except FileNotFoundError:
            return None

    def forget(self, server_id: str) -> None:
        (self.records / f"{server_id}.json").unlink(missing_ok=True)

    async def files(self, boot: dict[str, Any] | None
                    ) -> tuple[Path | None, Path | None, str]:
        """(kernel, initrd, command line) for a GuestSpec; (None, None, "") boots the disk."""
        if not boot or not boot.get("kernel"):
            return None, None, ""
        kernel = await self.image(boot["kernel"])
        initrd = await self.image(boot["ramdisk"]) if boot.get("ramdisk") else None
        return kernel, initrd, str(boot.get("cmdline") or "")

    # ------------------------------------------------------------ the cache

    async def image(self, ref: dict[str, Any]) -> Path:
        image_id = str(ref["id"])
        if "/" in image_id or image_id.startswith("."):
            raise BootFilesError(f"not an image id: {image_id!r}")
        path = self.cache / image_id
        async with _locks.setdefault(str(path), asyncio.Lock()):
            if path.is_file() and (ref.get("size") is None
                                   or path.stat().st_size == ref["size"]):
                return path
            self.cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{image_id}.part")
            try:
                await self._fill(ref, tmp)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        return path

    async def _fill(self, ref: dict[str, Any], tmp: Path) -> None:
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for chunk in self._chunks(ref):
                out.write(chunk)
                md5.update(chunk)
                size += len(chunk)
        if ref.get("size") is not None and size != ref["size"]:
            raise BootFilesError(f"image {ref['id']}: got {size} bytes, the image service "
                                 f"says {ref['size']}")
        if ref.get("checksum") and md5.hexdigest() != ref["checksum"]:
            raise BootFilesError(f"image {ref['id']}: checksum mismatch")

    async def _chunks(self, ref: dict[str, Any]) -> AsyncIterator[bytes]:
        for c in ref.get("copies", []):
            found = _cluster_with(self.settings, self.targets, c["cluster_id"])
            if found is not None and ref.get("size") is not None:
                async for chunk in _read(found[1], DeviceRef(c["pool"], c["device"]),
                                         int(ref["size"])):
                    yield chunk
                return
        async for chunk in self.fetch(str(ref["id"])):
            yield chunk


async def _read(backend: BaseBackend, dev: DeviceRef, size: int) -> AsyncIterator[bytes]:
    offset = 0
    while offset < size:
        n = min(CHUNK, size - offset)
        yield await backend.read(dev, offset, n)
        offset += n

