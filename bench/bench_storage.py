"""Storage layer benchmarks against the peers, in the same run on the same data.

    .venv/bin/python bench/bench_storage.py [--size-mib 1024] [--repeat 3]

Starts two throwaway Ceph clusters (memstore, 8 GiB each), then measures:
- streaming import (write_stream) of dense and sparse data into rbd, vs `rbd import` of the file;
- the same into the local backend, vs `qemu-img convert -O qcow2` of the file;
- snapshot + protect + clone of a 64 MiB vs a 1 GiB device (must not grow with size);
- cross-cluster copy of a sparse device (copy_device), vs `rbd export - | rbd import -`.
Prints each figure with the peer's and the ratio (peer time / ours: >1 means faster than the
peer), then a markdown table for the README, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from _common import GiB, MiB, Table, make_dense, make_sparse, median, peak_rss_mib, run
from ceph_clusters import start_cluster, stop_cluster

from cowcloud.storage import BaseBackend, DeviceRef
from cowcloud.storage.copy import copy_device
from cowcloud.storage.local.backend import LocalBackend
from cowcloud.storage.rbd.backend import RbdBackend


async def file_chunks(path: Path, size: int = 4 * MiB) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def rbd_cli(info, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    return ["rbd", "--conf", str(info.conf), "--keyring", str(info.keyring), "--id", info.user,
            *args]


async def timed_import(backend: BaseBackend, path: Path, name: str) -> float:
    dev = DeviceRef("rbd", name)
    await backend.create(dev, path.stat().st_size)
    start = time.perf_counter()
    await backend.write_stream(dev, file_chunks(path))
    elapsed = time.perf_counter() - start
    await backend.remove(dev)
    return elapsed


async def timed_clone(backend: BaseBackend, size: int, name: str) -> float:
    dev = DeviceRef("rbd", name)
    await backend.create(dev, size)
    await backend.write(dev, 0, bytes(range(256)) * (MiB // 256))
    await backend.write(dev, size - MiB, bytes(range(256)) * (MiB // 256))
    start = time.perf_counter()
    snap = await backend.snapshot(dev, "s")
    await backend.protect(snap)
    await backend.clone(snap, DeviceRef("rbd", name + "-c"))
    elapsed = time.perf_counter() - start
    await backend.remove(DeviceRef("rbd", name + "-c"))
    await backend.unprotect(snap)
    await backend.remove(dev, with_snapshots=True)
    return elapsed


async def main(size: int, repeat: int, work: Path) -> None:
    table = Table()
    shm = Path(tempfile.mkdtemp(prefix="cowcloud-bench-", dir="/dev/shm"))
    c0 = start_cluster(work / "c0", pools=("rbd",), memstore_bytes=8 * GiB)
    c1 = start_cluster(work / "c1", pools=("rbd",), memstore_bytes=8 * GiB)
    b0 = RbdBackend("c0", conf=c0.conf, user=c0.user, keyring=c0.keyring)
    b1 = RbdBackend("c1", conf=c1.conf, user=c1.user, keyring=c1.keyring)
    local = LocalBackend("local", path=work / "local")
    try:
        for b in (b0, b1, local):
            await b.open()
        await local.create_pool("rbd")
        dense, sparse = shm / "dense.raw", shm / "sparse.raw"
        make_dense(dense, size)
        make_sparse(sparse, size)
        for label, path in (("dense", dense), ("sparse, 16 MiB of data", sparse)):
            ours, peer = [], []
            for i in range(repeat):
                ours.append(await timed_import(b0, path, f"imp{i}"))
                peer.append(run(rbd_cli(c0, "import", "--no-progress", str(path), f"rbd/peer{i}")))
                run(rbd_cli(c0, "rm", "--no-progress", f"rbd/peer{i}"))
            table.add(f"rbd write_stream, {size // MiB} MiB {label}", median(ours), median(peer),
                      size, "rbd import")
            ours, peer = [], []
            for i in range(repeat):
                ours.append(await timed_import(local, path, f"imp{i}"))
                out = work / f"peer{i}.qcow2"
                peer.append(run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(path),
                                 str(out)]))
                out.unlink()
            table.add(f"local write_stream, {size // MiB} MiB {label}", median(ours),
                      median(peer), size, "qemu-img convert -O qcow2")

        for b, label in ((b0, "rbd"), (local, "local")):
            small = median([await timed_clone(b, 64 * MiB, f"cl64-{i}") for i in range(repeat)])
            big = median([await timed_clone(b, GiB, f"cl1g-{i}") for i in range(repeat)])
            table.add_times(f"{label} snapshot+protect+clone, 64 MiB", small, "")
            table.add_times(f"{label} snapshot+protect+clone, 1 GiB", big,
                            f"1 GiB / 64 MiB = {big / small:.2f}")

        run(rbd_cli(c0, "import", "--no-progress", str(sparse), "rbd/src"))
        ours, peer = [], []
        for i in range(repeat):
            start = time.perf_counter()
            await copy_device(b0, DeviceRef("rbd", "src"), b1, DeviceRef("rbd", f"cp{i}"))
            ours.append(time.perf_counter() - start)
            await b1.remove(DeviceRef("rbd", f"cp{i}"))
            peer.append(run(" ".join(rbd_cli(c0, "export", "--no-progress", "rbd/src", "-"))
                            + " | " + " ".join(rbd_cli(c1, "import", "--no-progress", "-",
                                                       f"rbd/peer{i}"))))
            run(rbd_cli(c1, "rm", "--no-progress", f"rbd/peer{i}"))
        table.add(f"cross-cluster copy, {size // MiB} MiB sparse (16 MiB data)", median(ours),
                  median(peer), size, "rbd export | rbd import")
        print(f"\npeak RSS of this process: {peak_rss_mib():.0f} MiB\n")
        print(table.markdown())
    finally:
        for b in (b0, b1, local):
            await b.close()
        stop_cluster(c0.dir)
        stop_cluster(c1.dir)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cowcloud-bench-"))
    try:
        asyncio.run(main(args.size_mib * MiB, args.repeat, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
