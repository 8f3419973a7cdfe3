"""Advisory exclusive locks, kept as `rbd lock add / ls / rm` keeps them, in the device record.

The owner is "HOST:PID" and the address the host name: enough for a caller to tell a dead
holder (break_lock) from a live one. While a lock is held, writes, resize, snapshot, flatten and
remove are refused, as on rbd (meta.ensure_unlocked says why).
"""

from __future__ import annotations

from ..base import check_lock_id
from ..contract import DeviceRef, LockOwner
from ..errors import Busy, NotFound
from . import meta as metadata
from ._errors import map_errors
from .handles import Handles
from .layout import Layout


def _load(layout: Layout, dev: DeviceRef) -> tuple[metadata.Meta, set[str]]:
    chain = layout.chain(dev)  # NotFound for a missing device
    return metadata.load(layout.meta(dev)), {s.snap or "" for s in chain.snaps}


async def lock(layout: Layout, handles: Handles, dev: DeviceRef, mine: LockOwner) -> None:
    """Takes the exclusive lock; taking it again under the same id is a no-op."""
    check_lock_id(mine.lock_id)
    async with handles.exclusive(dev, drain=False):
        meta, snaps = _load(layout, dev)
        if mine in meta.locks:
            return
        if meta.locks:
            held = ", ".join(f"{lk.lock_id!r} by {lk.owner} at {lk.address}"
                             for lk in meta.locks)
            raise Busy(f"{dev} is already locked ({held})")
        meta.locks.append(mine)
        with map_errors(f"lock {dev}"):
            metadata.save(layout.meta(dev), meta, snaps)


async def drop(layout: Layout, handles: Handles, dev: DeviceRef, lock_id: str,
               owner: str) -> None:
    """Removes the lock `owner` holds under `lock_id`: unlock (ours) or break_lock (anyone's)."""
    check_lock_id(lock_id)
    async with handles.exclusive(dev, drain=False):
        meta, snaps = _load(layout, dev)
        kept = [lk for lk in meta.locks if (lk.lock_id, lk.owner) != (lock_id, owner)]
        if len(kept) == len(meta.locks):
            raise NotFound(f"{dev} has no lock {lock_id!r} held by {owner}")
        meta.locks = kept
        with map_errors(f"unlock {dev}"):
            metadata.save(layout.meta(dev), meta, snaps)


def owners(layout: Layout, dev: DeviceRef) -> list[LockOwner]:
    return list(_load(layout, dev)[0].locks)
