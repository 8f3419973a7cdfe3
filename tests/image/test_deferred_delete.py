"""Deleting an image whose snapshot still has COW children (a volume cloned from it): the user
gets 204, the clone keeps reading its data, no location dangles, and the reaper removes the
device once the clone is gone."""

from __future__ import annotations

import asyncio
import time

import pytest

from cowcloud.config import Settings
from cowcloud.storage import DeviceRef
from cowcloud.storage.registry import make_backend

from .helpers import Api, devices, leftovers, pattern, unique


async def _with_backend(settings: Settings, store: str, work):
    target = settings.image_stores[store]
    backend = make_backend(settings, target.cluster)
    await backend.open()
    try:
        return await work(backend)
    finally:
        await backend.close()


def _clone(settings: Settings, store: str, image_id: str, child: DeviceRef) -> None:
    pool = settings.image_stores[store].pool
    asyncio.run(_with_backend(settings, store, lambda b: b.clone(
        DeviceRef(pool, image_id).snap("snap"), child)))


def _read(settings: Settings, store: str, dev: DeviceRef, n: int) -> bytes:
    return asyncio.run(_with_backend(settings, store, lambda b: b.read(dev, 0, n)))


def _remove(settings: Settings, store: str, dev: DeviceRef) -> None:
    asyncio.run(_with_backend(settings, store, lambda b: b.remove(dev)))


def _wait_gone(settings: Settings, image_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while leftovers(settings, image_id):
        if time.monotonic() > deadline:
            raise AssertionError(f"still there: {leftovers(settings, image_id)}")
        time.sleep(0.3)


@pytest.mark.parametrize("store, child_pool", [("central", "rbd"), ("edge", "volumes")])
def test_delete_image_with_a_clone(request: pytest.FixtureRequest, store: str,
                                   child_pool: str) -> None:
    # an rbd clone needs the Ceph server; a local store's clone is proved on the local one
    prefix = "" if store == "central" else "local_"
    admin: Api = request.getfixturevalue(f"{prefix}admin")
    settings: Settings = request.getfixturevalue(f"{prefix}settings")
    data = pattern(2 << 20, seed=21)
    iid = admin.create()["id"]
    assert admin.upload(iid, data, store=store).status_code == 204
    child = DeviceRef(child_pool, unique("volume"))
    if store == "edge":  # the local cluster's pools are folders: make this one
        asyncio.run(_with_backend(settings, store, lambda b: b.create_pool(child_pool)))
    _clone(settings, store, iid, child)

    assert admin.delete(f"/v2/images/{iid}").status_code == 204
    assert admin.get(f"/v2/images/{iid}").status_code == 404
    assert iid not in {i["id"] for i in admin.get("/v2/images").json()["images"]}
    assert devices(settings, iid)[store] == [iid]  # kept for its clone
    assert _read(settings, store, child, len(data)) == data
    time.sleep(1.5)  # the reaper retried at least once and left it alone
    assert devices(settings, iid)[store] == [iid]

    _remove(settings, store, child)  # the volume goes: the reaper may collect the image
    _wait_gone(settings, iid)


def test_delete_from_store_with_a_clone(admin: Api, settings: Settings) -> None:
    data = pattern(1 << 20, seed=22)
    iid = admin.create()["id"]
    admin.upload(iid, data)
    assert admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                         "stores": ["dcn0"]}).status_code == 202
    admin.wait_tasks(iid)
    child = DeviceRef("volumes", unique("volume"))
    _clone(settings, "central", iid, child)
    assert admin.delete(f"/v2/stores/central/{iid}").status_code == 204
    image = admin.image(iid)
    assert image["stores"] == "dcn0"
    assert [loc["metadata"]["store"] for loc in image["locations"]] == ["dcn0"]
    assert image["direct_url"].endswith(f"/images/{iid}/snap")
    assert devices(settings, iid)["central"] == [iid]
    # its old name is taken until the clone goes: copying back is refused, clearly
    resp = admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                        "stores": ["central"]})
    assert resp.status_code == 409 and "clones" in resp.json()["message"]
    asyncio.run(_with_backend(settings, "central", lambda b: b.flatten(child)))
    deadline = time.monotonic() + 30
    while devices(settings, iid)["central"]:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert _read(settings, "central", child, len(data)) == data  # flattened: still whole
    _remove(settings, "central", child)
    assert admin.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                         "stores": ["central"]}).status_code == 202
    admin.wait_tasks(iid)
    admin.delete(f"/v2/images/{iid}")
    assert leftovers(settings, iid) == {}
