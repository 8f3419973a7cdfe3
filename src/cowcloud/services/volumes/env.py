"""What every part of the volume service works with: settings, database, targets, tasks, the
image service's one question (ImageService.source), and the names devices carry.

Names are the record (as in services/images): a volume's device is `volume-<id>` in its
backend's pool; a volume snapshot is the device snapshot `snapshot-<id>` on it; a volume cloned
from another volume in the same cluster reads through `volume-<src>@volume-<dst>.clone_snap`
(Cinder's names). Rows are written before devices, so whatever a crash leaves is found by name.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...storage import BaseBackend, DeviceRef, SnapRef
from ...tasks import TaskRunner
from ..images import ImageService

T = TypeVar("T")
GiB = 1 << 30

CREATE_KIND = "volume_create"
DELETE_KIND = "volume_delete"
SNAPSHOT_DELETE_KIND = "volume_snapshot_delete"

_VOLUME_DEV = re.compile(r"^volume-([0-9a-f-]{36})$")
_SNAPSHOT = re.compile(r"^snapshot-([0-9a-f-]{36})$")
_CLONE_SNAP = re.compile(r"^volume-([0-9a-f-]{36})\.clone_snap$")


def volume_device(pool: str, volume_id: str) -> DeviceRef:
    return DeviceRef(pool, f"volume-{volume_id}")


def snapshot_ref(pool: str, volume_id: str, snapshot_id: str) -> SnapRef:
    return SnapRef(volume_device(pool, volume_id), f"snapshot-{snapshot_id}")


def clone_snap(pool: str, src_id: str, dst_id: str) -> SnapRef:
    return SnapRef(volume_device(pool, src_id), f"volume-{dst_id}.clone_snap")


def volume_of_device(dev: DeviceRef) -> str | None:
    m = _VOLUME_DEV.match(dev.name)
    return m.group(1) if m else None


def snapshot_of(snap: SnapRef) -> str | None:
    m = _SNAPSHOT.match(snap.name)
    return m.group(1) if m else None


def is_clone_snap(snap: SnapRef) -> bool:
    return bool(_CLONE_SNAP.match(snap.name))


@dataclass
class Env:
    settings: Settings
    db: Database
    targets: Targets
    tasks: TaskRunner
    images: ImageService
    # One change at a time to a cluster's clone graph: a clone made from a snapshot while its
    # last child's removal is collecting it would otherwise lose its parent. Clones never cross
    # clusters (can_clone), so each cluster has its own lock: a call stuck on one cluster does
    # not hold up every other cluster's deletes.
    _graphs: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)

    def graph_lock(self, backend: BaseBackend) -> asyncio.Lock:
        """The lock of the clone graph `backend`'s devices are in (its cluster's)."""
        return self._graphs.setdefault(backend.info.cluster_id, asyncio.Lock())

    def backend(self, cluster: str) -> BaseBackend:
        return self.targets.backend(cluster)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(session, *args) in one short transaction, off the event loop."""
        def job() -> T:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)
