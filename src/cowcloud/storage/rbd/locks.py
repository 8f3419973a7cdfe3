"""Advisory exclusive locks, as `rbd lock add / ls / rm` keep them.

With the exclusive-lock image feature (which object-map and fast-diff need), librbd's own
lock and these advisory locks are one cls lock ("rbd_lock") on the image header, told apart by
its tag ("internal" for librbd's). So on rbd an advisory lock is stronger than the word says:
while one is held, nobody (its holder included) can write, resize, snapshot or remove the image.
librbd would wait forever for writes and removal, so `ensure_unlocked` refuses them with Busy
first. Likewise `lock()` is Busy while a writer holds librbd's own lock.
"""

from __future__ import annotations

from ..base import check_lock_id
from ..contract import DeviceRef, LockOwner
from ..errors import AlreadyExists, Busy, NotFound
from .cluster import Image, RbdCluster
from .fencing import listed

MANAGED_TAG = "internal"  # the tag librbd's exclusive-lock feature puts on its lock


def owners_of(image: Image) -> list[LockOwner]:
    info = image.list_lockers()
    if not info:  # librbd returns [] when nobody holds a lock
        return []
    return [LockOwner(lock_id=cookie, owner=client, address=address)
            for client, cookie, address in info["lockers"]]


def ensure_unlocked(image: Image, dev: DeviceRef, action: str) -> None:
    """Busy if an advisory lock is held: what `action` needs would never be granted."""
    info = image.list_lockers()
    if info and info.get("tag") != MANAGED_TAG:
        held = ", ".join(f"{cookie!r} by {client}" for client, cookie, _ in info["lockers"])
        raise Busy(f"cannot {action} {dev}: it is locked ({held}); unlock or break the lock first")


class LockOps:
    """The contract's locks operations; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def lock(self, dev: DeviceRef, lock_id: str) -> None:
        """Takes the exclusive advisory lock; a repeated lock() with the same id is a no-op."""
        cluster = self.cluster
        check_lock_id(lock_id)
        try:
            await cluster.with_image(dev, lambda image: image.lock_exclusive(lock_id),
                                     what=f"lock {dev}")
        except AlreadyExists:
            # EEXIST: this very client already holds the lock under this id.
            return
        except Busy as exc:
            # librbd only says EBUSY; name the holder so the caller can decide to break it.
            holders = await self.lock_owners(dev)
            who = ", ".join(f"{o.lock_id!r} by {o.owner} at {o.address}" for o in holders)
            raise Busy(f"{dev} is already locked ({who or 'released meanwhile; retry'})") from exc

    async def unlock(self, dev: DeviceRef, lock_id: str) -> None:
        """Releases a lock this connection holds under `lock_id`; NotFound if it holds none."""
        cluster = self.cluster
        check_lock_id(lock_id)
        me = f"client.{cluster.instance_id}"

        def work(image: Image) -> None:
            if not any(o.lock_id == lock_id and o.owner == me for o in owners_of(image)):
                raise NotFound(f"{dev} has no lock {lock_id!r} held by {me}")
            image.unlock(lock_id)
        await cluster.with_image(dev, work, what=f"unlock {dev}")

    async def lock_owners(self, dev: DeviceRef) -> list[LockOwner]:
        """Advisory lock holders, and librbd's own lock holder while one is writing."""
        cluster = self.cluster
        return await cluster.with_image(dev, owners_of, read_only=True, what=f"list locks of {dev}")

    async def break_lock(self, dev: DeviceRef, owner: LockOwner) -> None:
        """Fences the owner (blocklists its address, as `rbd lock rm` does), then drops its lock.

        Blocklisting first means a holder that is not dead after all can no longer write once its
        lock is gone. Our own address is never blocklisted: that would cut off this connection and
        every device in the cluster with it. An owner blocklisted already (by fence()) keeps its
        entry's expiry.
        """
        cluster = self.cluster
        def work(image: Image) -> None:
            held = [o for o in owners_of(image)
                    if o.lock_id == owner.lock_id and o.owner == owner.owner]
            if not held:
                raise NotFound(f"{dev} has no lock {owner.lock_id!r} held by {owner.owner}")
            address = held[0].address
            if (address and address != cluster.address
                    and address not in {e.client for e in listed(cluster)}):
                cluster.rados.blocklist_add(address, 0)  # 0: the cluster's default expiry (1 h)
            image.break_lock(owner.owner, owner.lock_id)
        await cluster.with_image(dev, work, what=f"break lock {owner.lock_id!r} on {dev}")
