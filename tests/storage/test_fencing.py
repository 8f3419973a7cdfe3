"""Fencing, as the contract has it (`ceph osd blocklist` semantics), on every backend.

`peer` is a second client of the same cluster: another Ceph connection, or another LocalBackend
on the same folder; the compute service fences a dead host's client this way before evacuating.
"""

from __future__ import annotations

import time

import pytest

from cowcloud.storage import BaseBackend, DeviceRef, Fenced, InvalidArgument, MiB, NotFound

from .helpers import pattern


async def test_fence_cuts_the_holder_off_and_hands_the_device_over(
        backend: BaseBackend, peer: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, 4 * MiB)
    await peer.write(dev, 0, pattern(4096, 1))
    await peer.lock(dev, "host-b")
    [held] = await backend.lock_owners(dev)
    assert held.address == await peer.client_id() != await backend.client_id()

    fenced = await backend.fence(dev)
    assert fenced == [held]
    assert held.address in [e.client for e in await backend.blocklisted()]
    assert await backend.lock_owners(dev) == []
    # The fenced host cannot write, lock or take anything back...
    with pytest.raises(Fenced):
        await peer.write(dev, 0, pattern(4096, 2))
    with pytest.raises(Fenced):
        await peer.lock(dev, "host-b")
    # ...while the new host takes the device over.
    await backend.lock(dev, "host-a")
    assert [o.lock_id for o in await backend.lock_owners(dev)] == ["host-a"]
    await backend.unlock(dev, "host-a")
    await backend.write(dev, 4096, pattern(4096, 3))
    assert await backend.read(dev, 0, 8192) == pattern(4096, 1) + pattern(4096, 3)

    # Unblocklisted, the client works again (on devices it opens anew).
    await backend.unblocklist(held.address)
    assert held.address not in [e.client for e in await backend.blocklisted()]
    other = DeviceRef(dev.pool, f"{dev.name}-b")
    await peer.create(other, MiB)
    await peer.write(other, 0, pattern(4096, 4))
    assert await peer.read(other, 0, 4096) == pattern(4096, 4)


async def test_fence_without_owners_fences_nobody(backend: BaseBackend, peer: BaseBackend,
                                                  dev: DeviceRef) -> None:
    await backend.create(dev, MiB)
    before = await backend.blocklisted()
    assert await backend.fence(dev) == []
    assert await backend.blocklisted() == before
    await peer.write(dev, 0, pattern(512))


async def test_fence_breaks_our_own_lock_without_fencing_us(backend: BaseBackend,
                                                            dev: DeviceRef) -> None:
    await backend.create(dev, MiB)
    await backend.lock(dev, "me")
    [mine] = await backend.fence(dev)
    assert mine.lock_id == "me"
    assert await backend.client_id() not in [e.client for e in await backend.blocklisted()]
    await backend.write(dev, 0, pattern(512))


async def test_blocklist_expiry_is_kept(backend: BaseBackend, peer: BaseBackend) -> None:
    client = await peer.client_id()
    await backend.blocklist(client, expire_seconds=600)
    [entry] = [e for e in await backend.blocklisted() if e.client == client]
    assert abs(entry.until.timestamp() - (time.time() + 600)) < 60
    # Again: the entry stays as it is, as Ceph keeps it (unblocklist first to change it).
    await backend.blocklist(client, expire_seconds=60)
    assert [e for e in await backend.blocklisted() if e.client == client] == [entry]


async def test_fence_keeps_the_expiry_asked_for(backend: BaseBackend, peer: BaseBackend,
                                                dev: DeviceRef) -> None:
    await backend.create(dev, MiB)
    await peer.lock(dev, "host-b")
    await backend.fence(dev, expire_seconds=120)
    client = await peer.client_id()
    [entry] = [e for e in await backend.blocklisted() if e.client == client]
    assert entry.until.timestamp() < time.time() + 300  # not the default hour


@pytest.mark.parametrize("client", ["", "nonsense", "a b:1/2", "1.2.3.4:0/x", "h:1/2/3", None, 42])
async def test_bad_client_ids_are_refused(backend: BaseBackend, client: object) -> None:
    before = await backend.blocklisted()
    with pytest.raises(InvalidArgument):
        await backend.blocklist(client)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await backend.unblocklist(client)  # type: ignore[arg-type]
    assert await backend.blocklisted() == before


@pytest.mark.parametrize("expire", [0, -5, float("nan"), float("inf"), "60", True])
async def test_bad_expiry_is_refused(backend: BaseBackend, peer: BaseBackend,
                                     expire: object) -> None:
    before = await backend.blocklisted()
    with pytest.raises(InvalidArgument):
        await backend.blocklist(await peer.client_id(), expire)  # type: ignore[arg-type]
    assert await backend.blocklisted() == before


async def test_a_backend_never_blocklists_itself(backend: BaseBackend) -> None:
    with pytest.raises(InvalidArgument):
        await backend.blocklist(await backend.client_id())
    assert await backend.client_id() not in [e.client for e in await backend.blocklisted()]


async def test_unblocklist_of_a_client_not_listed_is_not_found(backend: BaseBackend,
                                                               peer: BaseBackend) -> None:
    with pytest.raises(NotFound):
        await backend.unblocklist(await peer.client_id())
