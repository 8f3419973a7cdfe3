"""The storage contract, written once against BaseBackend and run on every backend (local, rbd).

Only the contract and the error tree are used here: no test names a backend kind.
"""

from __future__ import annotations

import pytest

from cowcloud.storage import (
    AlreadyExists,
    BaseBackend,
    Busy,
    DeviceRef,
    HasChildren,
    HasSnapshots,
    InvalidArgument,
    MiB,
    NotFound,
    SnapshotProtected,
    can_clone,
)

from .helpers import chunks_of, make_device, pattern, random_bytes, read_all


async def clone_of(backend: BaseBackend, dev: DeviceRef, snap_name: str,
                   child: DeviceRef) -> None:
    snap = await backend.snapshot(dev, snap_name)
    await backend.protect(snap)
    await backend.clone(snap, child)


# --- devices ---------------------------------------------------------------------------------

async def test_create_stat_list_remove(backend: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, 16 * MiB)
    assert await backend.exists(dev)
    info = await backend.stat(dev)
    assert (info.ref, info.size, info.parent) == (dev, 16 * MiB, None)
    assert dev.name in await backend.list_devices(dev.pool)
    await backend.remove(dev)
    assert not await backend.exists(dev)
    assert dev.name not in await backend.list_devices(dev.pool)


async def test_create_twice_is_refused(backend: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, MiB)
    with pytest.raises(AlreadyExists):
        await backend.create(dev, 2 * MiB)
    assert (await backend.stat(dev)).size == MiB


async def test_missing_device_and_pool_are_not_found(backend: BaseBackend, dev: DeviceRef) -> None:
    with pytest.raises(NotFound):
        await backend.stat(dev)
    with pytest.raises(NotFound):
        await backend.read(dev, 0, 512)
    with pytest.raises(NotFound):
        await backend.remove(dev)
    await backend.remove(dev, missing_ok=True)
    with pytest.raises(NotFound):
        await backend.create(DeviceRef("no-such-pool", dev.name), MiB)


@pytest.mark.parametrize("name", ["", "a/b", "a@b", "-x", "x" * 200, "sp ace"])
async def test_bad_names_are_refused(backend: BaseBackend, name: str) -> None:
    with pytest.raises(InvalidArgument):
        await backend.create(DeviceRef("rbd", name), MiB)


async def test_bad_size_is_refused(backend: BaseBackend, dev: DeviceRef) -> None:
    with pytest.raises(InvalidArgument):
        await backend.create(dev, -1)
    assert not await backend.exists(dev)


async def test_resize_grows_and_shrinks_only_when_asked(backend: BaseBackend,
                                                        dev: DeviceRef) -> None:
    data = await make_device(backend, dev, 4 * MiB)
    await backend.resize(dev, 8 * MiB)
    assert (await backend.stat(dev)).size == 8 * MiB
    assert await read_all(backend, dev) == data + bytes(4 * MiB)
    with pytest.raises(InvalidArgument):
        await backend.resize(dev, 2 * MiB)
    assert (await backend.stat(dev)).size == 8 * MiB
    await backend.resize(dev, 2 * MiB, allow_shrink=True)
    assert await read_all(backend, dev) == data[:2 * MiB]


# --- data ------------------------------------------------------------------------------------

async def test_write_read_round_trip_and_unwritten_reads_zero(backend: BaseBackend,
                                                              dev: DeviceRef) -> None:
    await backend.create(dev, 8 * MiB)
    payload = random_bytes(MiB + 4096)
    await backend.write(dev, 3 * MiB, payload)
    assert await backend.read(dev, 3 * MiB, len(payload)) == payload
    assert await backend.read(dev, 0, MiB) == bytes(MiB)
    assert await backend.read(dev, 7 * MiB, MiB) == bytes(MiB)


async def test_io_past_the_end_is_refused(backend: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, MiB)
    with pytest.raises(InvalidArgument):
        await backend.write(dev, MiB - 512, bytes(1024))
    with pytest.raises(InvalidArgument):
        await backend.read(dev, MiB, 512)


async def test_write_stream_dense(backend: BaseBackend, dev: DeviceRef) -> None:
    data = random_bytes(20 * MiB + 12345)
    await backend.create(dev, len(data))
    seen: list[int] = []
    written = await backend.write_stream(dev, chunks_of(data, 100_000),
                                         progress=lambda done, total: seen.append(done))
    assert written == len(data)
    assert await read_all(backend, dev) == data
    assert seen and seen[-1] == len(data) and seen == sorted(seen)


async def test_write_stream_longer_than_device_is_refused(backend: BaseBackend,
                                                          dev: DeviceRef) -> None:
    await backend.create(dev, 4 * MiB)
    with pytest.raises(InvalidArgument):
        await backend.write_stream(dev, chunks_of(pattern(5 * MiB)))
    assert (await backend.stat(dev)).size == 4 * MiB


async def test_write_stream_grow_ends_at_the_stream_length(backend: BaseBackend,
                                                           dev: DeviceRef) -> None:
    data = pattern(9 * MiB + 512)
    await backend.create(dev, 0)
    assert await backend.write_stream(dev, chunks_of(data), grow=True) == len(data)
    assert (await backend.stat(dev)).size == len(data)
    assert await read_all(backend, dev) == data


async def test_sparse_stream_keeps_holes(backend: BaseBackend, dev: DeviceRef) -> None:
    size = 64 * MiB
    data = bytearray(size)
    data[0:MiB] = pattern(MiB, 1)
    data[40 * MiB:41 * MiB] = pattern(MiB, 2)
    await backend.create(dev, size)
    await backend.write_stream(dev, chunks_of(bytes(data), MiB))
    usage = await backend.usage(dev)
    assert usage.provisioned == size
    assert usage.used <= 16 * MiB, "holes were written as data"
    extents = await backend.extents(dev)
    covered = sum(e.length for e in extents)
    assert covered <= 16 * MiB
    for start in (0, 40 * MiB):  # every byte of data is inside some extent
        assert any(e.offset <= start and start + MiB <= e.end for e in extents)
    assert await read_all(backend, dev) == bytes(data)


async def test_stream_of_zeros_over_data_leaves_zeros(backend: BaseBackend, dev: DeviceRef,
                                                      prefix: str) -> None:
    """Zero pieces are holes on a fresh device but must still clear old data, and a clone's view
    of its parent's data: the device ends up holding exactly the stream."""
    child = DeviceRef("images", f"{prefix}-c")
    await make_device(backend, dev, 8 * MiB)
    await clone_of(backend, dev, "s", child)
    stream = bytearray(8 * MiB)
    stream[3 * MiB:4 * MiB] = pattern(MiB, 7)
    for target in (dev, child):
        await backend.write_stream(target, chunks_of(bytes(stream), 300_000))
        assert await read_all(backend, target) == bytes(stream)


async def test_write_extents_places_each_piece(backend: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, 16 * MiB)
    pieces = [(0, pattern(MiB, 1)), (9 * MiB + 512, pattern(4096, 2)), (15 * MiB, pattern(MiB, 3))]

    async def items():  # type: ignore[no-untyped-def]
        for item in pieces:
            yield item

    assert await backend.write_extents(dev, items()) == 2 * MiB + 4096
    expected = bytearray(16 * MiB)
    for at, data in pieces:
        expected[at:at + len(data)] = data
    assert await read_all(backend, dev) == bytes(expected)

    async def past_end():  # type: ignore[no-untyped-def]
        yield 16 * MiB - 512, bytes(1024)

    with pytest.raises(InvalidArgument):
        await backend.write_extents(dev, past_end())


async def test_read_extents_yields_exactly_the_data(backend: BaseBackend, dev: DeviceRef) -> None:
    size = 32 * MiB
    content = bytearray(size)
    content[5 * MiB:6 * MiB] = pattern(MiB, 3)
    content[20 * MiB + 4096:20 * MiB + 8192] = pattern(4096, 4)
    await backend.create(dev, size)
    await backend.write(dev, 5 * MiB, bytes(content[5 * MiB:6 * MiB]))
    await backend.write(dev, 20 * MiB + 4096, bytes(content[20 * MiB + 4096:20 * MiB + 8192]))
    rebuilt = bytearray(size)
    total = 0
    async for offset, chunk in backend.read_extents(dev, chunk_size=MiB):
        rebuilt[offset:offset + len(chunk)] = chunk
        total += len(chunk)
    assert rebuilt == content
    assert total <= 12 * MiB, "read_extents streamed holes"


# --- snapshots and clones --------------------------------------------------------------------

async def test_snapshot_is_a_frozen_view(backend: BaseBackend, dev: DeviceRef,
                                         prefix: str) -> None:
    before = await make_device(backend, dev, 4 * MiB, pattern(4 * MiB, 1))
    snap = await backend.snapshot(dev, "s1")
    await backend.write(dev, 0, pattern(MiB, 9))
    listed = await backend.snapshots(dev)
    assert [(s.ref, s.size, s.protected) for s in listed] == [(snap, 4 * MiB, False)]
    await backend.protect(snap)
    child = DeviceRef("rbd", f"{prefix}-c")
    await backend.clone(snap, child)
    assert await read_all(backend, child) == before
    assert (await backend.read(dev, 0, MiB)) == pattern(MiB, 9)


async def test_snapshot_twice_is_refused(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, MiB)
    await backend.snapshot(dev, "s")
    with pytest.raises(AlreadyExists):
        await backend.snapshot(dev, "s")
    with pytest.raises(InvalidArgument):
        await backend.snapshot(dev, "bad@name")


async def test_protected_snapshot_cannot_be_removed(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, MiB)
    snap = await backend.snapshot(dev, "s")
    await backend.protect(snap)
    with pytest.raises(SnapshotProtected):
        await backend.remove_snapshot(snap)
    await backend.unprotect(snap)
    await backend.remove_snapshot(snap)
    assert await backend.snapshots(dev) == []


async def test_clone_needs_a_protected_snapshot(backend: BaseBackend, dev: DeviceRef,
                                                prefix: str) -> None:
    await make_device(backend, dev, MiB)
    snap = await backend.snapshot(dev, "s")
    child = DeviceRef("rbd", f"{prefix}-c")
    with pytest.raises(InvalidArgument):
        await backend.clone(snap, child)
    assert not await backend.exists(child)


async def test_clone_sees_parent_and_writes_stay_its_own(backend: BaseBackend, dev: DeviceRef,
                                                         prefix: str) -> None:
    base = await make_device(backend, dev, 8 * MiB)
    child = DeviceRef("images", f"{prefix}-c")  # another pool of the same cluster
    await clone_of(backend, dev, "s", child)
    info = await backend.stat(child)
    assert info.parent == dev.snap("s") and info.size == 8 * MiB
    assert await read_all(backend, child) == base
    await backend.write(child, MiB, pattern(MiB, 5))
    assert await backend.read(dev, MiB, MiB) == base[MiB:2 * MiB]
    assert await backend.read(child, MiB, MiB) == pattern(MiB, 5)
    assert await backend.children(dev.snap("s")) == [child]
    extents = await backend.extents(child)  # the parent's data shows through
    assert any(e.offset <= 0 and 8 * MiB <= e.end for e in extents) or \
        sum(e.length for e in extents) >= 8 * MiB
    used = (await backend.usage(child)).used
    assert used < 8 * MiB, "a clone's usage counted its parent's data"


async def test_children_refuse_unprotect_and_remove(backend: BaseBackend, dev: DeviceRef,
                                                    prefix: str) -> None:
    await make_device(backend, dev, 2 * MiB)
    child = DeviceRef("volumes", f"{prefix}-c")
    await clone_of(backend, dev, "s", child)
    snap = dev.snap("s")
    with pytest.raises(HasChildren) as unprotect:
        await backend.unprotect(snap)
    assert child in unprotect.value.children
    with pytest.raises(HasChildren) as remove:
        await backend.remove(dev, with_snapshots=True)
    assert child in remove.value.children
    with pytest.raises(SnapshotProtected):
        await backend.remove_snapshot(snap)
    assert await backend.exists(dev) and await backend.exists(child)
    assert await backend.snapshots(dev) != []


async def test_remove_with_snapshots(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, MiB)
    await backend.snapshot(dev, "a")
    await backend.protect(await backend.snapshot(dev, "b"))
    with pytest.raises(HasSnapshots):
        await backend.remove(dev)
    assert await backend.exists(dev)
    await backend.remove(dev, with_snapshots=True)
    assert not await backend.exists(dev)


async def test_flatten_detaches_the_clone(backend: BaseBackend, dev: DeviceRef,
                                          prefix: str) -> None:
    base = await make_device(backend, dev, 4 * MiB)
    child = DeviceRef("rbd", f"{prefix}-c")
    await clone_of(backend, dev, "s", child)
    await backend.write(child, 0, pattern(4096, 8))
    expected = pattern(4096, 8) + base[4096:]
    await backend.flatten(child)
    assert (await backend.stat(child)).parent is None
    assert await backend.children(dev.snap("s")) == []
    await backend.unprotect(dev.snap("s"))
    await backend.remove(dev, with_snapshots=True)
    assert await read_all(backend, child) == expected


async def test_clone_of_a_clone_and_middle_snapshot_removal(backend: BaseBackend, dev: DeviceRef,
                                                            prefix: str) -> None:
    base = await make_device(backend, dev, 2 * MiB)
    s1 = await backend.snapshot(dev, "s1")
    await backend.write(dev, 0, pattern(MiB, 2))
    s2 = await backend.snapshot(dev, "s2")
    await backend.write(dev, MiB, pattern(MiB, 3))
    await backend.remove_snapshot(s1)  # a snapshot in the middle of the history
    assert [s.ref for s in await backend.snapshots(dev)] == [s2]
    await backend.protect(s2)
    c1 = DeviceRef("rbd", f"{prefix}-c1")
    await backend.clone(s2, c1)
    assert await read_all(backend, c1) == pattern(MiB, 2) + base[MiB:]
    await backend.protect(await backend.snapshot(c1, "t"))
    c2 = DeviceRef("images", f"{prefix}-c2")
    await backend.clone(c1.snap("t"), c2)
    assert await read_all(backend, c2) == pattern(MiB, 2) + base[MiB:]
    assert await read_all(backend, dev) == pattern(MiB, 2) + pattern(MiB, 3)


# --- locks -----------------------------------------------------------------------------------

async def test_exclusive_lock_owners_and_break(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, MiB)
    await backend.lock(dev, "host-a")
    owners = await backend.lock_owners(dev)
    assert [o.lock_id for o in owners] == ["host-a"] and owners[0].owner
    with pytest.raises(Busy):
        await backend.lock(dev, "host-b")
    await backend.break_lock(dev, owners[0])  # host-a died: recover its lock
    assert await backend.lock_owners(dev) == []
    await backend.lock(dev, "host-b")
    assert [o.lock_id for o in await backend.lock_owners(dev)] == ["host-b"]
    await backend.unlock(dev, "host-b")
    assert await backend.lock_owners(dev) == []


# --- usage and identity ----------------------------------------------------------------------

async def test_usage_counts_what_was_written(backend: BaseBackend, dev: DeviceRef) -> None:
    await backend.create(dev, 64 * MiB)
    empty = await backend.usage(dev)
    assert empty.provisioned == 64 * MiB and empty.used < MiB
    await backend.write(dev, 0, pattern(8 * MiB))
    used = (await backend.usage(dev)).used
    assert 8 * MiB <= used <= 16 * MiB


async def test_identity_is_stable_and_cloning_within_is_possible(backend: BaseBackend) -> None:
    info = backend.info
    assert info.cluster_id and info.kind
    assert can_clone(backend, backend)
