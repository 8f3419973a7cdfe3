"""The `backend` fixture: every contract test runs once on each backend kind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cowcloud.storage import BaseBackend, DeviceRef


async def open_rbd(info, name: str = "ceph") -> BaseBackend:  # type: ignore[no-untyped-def]
    from cowcloud.storage.rbd.backend import RbdBackend
    backend = RbdBackend(name, conf=info.conf, user=info.user, keyring=info.keyring)
    await backend.open()
    return backend


async def open_local(path: Path, name: str = "local") -> BaseBackend:
    from cowcloud.storage.local.backend import LocalBackend
    backend = LocalBackend(name, path=path)
    await backend.open()
    for pool in ("rbd", "images", "volumes"):
        await backend.create_pool(pool)
    return backend


POOLS = ("rbd", "images", "volumes")


@pytest.fixture
def prefix() -> str:
    """Device names no other test uses: the Ceph clusters are shared by the whole session."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def dev(prefix: str) -> DeviceRef:
    return DeviceRef("rbd", f"{prefix}-a")


async def remove_all(backend: BaseBackend, prefix: str) -> None:
    """Removes what a test left behind, clones before their parents."""
    for _ in range(4):
        left = [DeviceRef(pool, name) for pool in POOLS
                for name in await backend.list_devices(pool) if name.startswith(prefix)]
        if not left:
            return
        for ref in left:
            try:
                for owner in await backend.lock_owners(ref):
                    await backend.break_lock(ref, owner)
                for snap in await backend.snapshots(ref):
                    if snap.protected and not await backend.children(snap.ref):
                        await backend.unprotect(snap.ref)
                await backend.remove(ref, with_snapshots=True, missing_ok=True)
            except Exception:
                pass  # a clone still hangs on it: the next pass gets it


@pytest.fixture(params=["local", "rbd"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path,
                  prefix: str) -> AsyncIterator[BaseBackend]:
    if request.param == "rbd":
        b = await open_rbd(request.getfixturevalue("ceph"))
    else:
        b = await open_local(tmp_path / "local")
    try:
        yield b
        await remove_all(b, prefix)
    finally:
        await b.close()


@pytest.fixture
async def peer(request: pytest.FixtureRequest, backend: BaseBackend,
               tmp_path: Path) -> AsyncIterator[BaseBackend]:
    """A second client of the backend's cluster (another host, as fencing sees it): its own
    Ceph connection, or another LocalBackend on the same folder."""
    if backend.info.kind == "rbd":
        b = await open_rbd(request.getfixturevalue("ceph"), "ceph-b")
    else:
        b = await open_local(tmp_path / "local", "local-b")
    try:
        yield b
    finally:
        # Never leave it fenced: the next test's clients must not meet its entry.
        client = await b.client_id()
        if client in {e.client for e in await backend.blocklisted()}:
            await backend.unblocklist(client)
        await b.close()
