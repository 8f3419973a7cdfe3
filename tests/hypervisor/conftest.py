"""Real guests for the qemu driver's tests: the small Debian guest (scripts/guest-image), a
driver on TCG whose state folder is checked for leftover processes, and a cephx user made for
the test run whose key exists only in memory (so a guest that reads its RBD disk got the key
through QMP, not from a keyring the conf names)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ceph_clusters import CephClusterInfo

from cowcloud.hypervisor.qemu import QemuDriver

from .helpers import GuestImage, processes_naming

REPO = Path(__file__).resolve().parents[2]


def _need(reason: str | None) -> None:
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the qemu driver's tests need it in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def guest_image() -> GuestImage:
    _need(None if shutil.which("qemu-system-x86_64") else
          "qemu-system-x86_64 not installed (apt install qemu-system-x86)")
    _need(None if shutil.which("apt-get") and shutil.which("dpkg-deb") else "no apt-get/dpkg-deb")
    res = subprocess.run([str(REPO / "scripts" / "guest-image")],
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(f"scripts/guest-image failed:\n{res.stderr}")
    kv = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return GuestImage(Path(kv["KERNEL"]), Path(kv["INITRD"]))


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Short on purpose: QMP's unix socket paths are capped at 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="cchv-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def driver(guest_image: GuestImage, state_dir: Path) -> AsyncIterator[QemuDriver]:
    drv = QemuDriver(state_dir / "guests", accel="tcg")
    yield drv
    for g in await drv.guests():
        await drv.destroy(g)
    left = processes_naming(state_dir)
    for pid in left:   # never leave a guest running, even when the test failed
        os.kill(pid, 9)
    assert not left, f"processes left running: {left}"


@dataclass(frozen=True)
class CephUser:
    conf: str
    user: str
    key: str
    cluster: CephClusterInfo


def _ceph(info: CephClusterInfo, *args: str) -> str:
    return subprocess.run(["ceph", "--conf", str(info.conf), "-k", str(info.keyring), *args],
                          check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(scope="session")
def ceph_user(ceph: CephClusterInfo) -> Iterator[CephUser]:
    """A cephx user like Nova's `client.nova`: rbd profile on the test pool, key kept nowhere."""
    name = f"cowcloud-hv-{uuid.uuid4().hex[:8]}"
    key = _ceph(ceph, "auth", "get-or-create-key", f"client.{name}", "mon", "profile rbd",
                "osd", "profile rbd pool=rbd").strip()
    try:
        yield CephUser(str(ceph.conf), name, key, ceph)
    finally:
        _ceph(ceph, "auth", "del", f"client.{name}")


@pytest.fixture
async def rbd(ceph: CephClusterInfo) -> AsyncIterator:  # type: ignore[type-arg]
    from cowcloud.storage.rbd.backend import RbdBackend
    backend = RbdBackend("ceph", conf=ceph.conf, user=ceph.user, keyring=ceph.keyring)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def prefix() -> str:
    return f"hv{uuid.uuid4().hex[:10]}"
