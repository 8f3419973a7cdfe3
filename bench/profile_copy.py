"""Where a copy between two clusters spends its time (storage.copy, which copy-image and the
volume service use), beside `rbd export | rbd import` in the same run on the same image.

    PYTHONPATH=src .venv/bin/python bench/profile_copy.py [--size-mib 1024] [--repeat 3]

Stages, each alone: the read side (read_extents drained, nothing written), the write side
(write_extents of chunks already in memory), then the whole copy with read chunk, read-ahead
and write window varied around the defaults, each with the process's CPU seconds. Medians of
--repeat runs; the load average is printed, as the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from _common import MiB, make_dense, median, run
from ceph_clusters import start_cluster, stop_cluster

from cowcloud.storage import DeviceRef
from cowcloud.storage.rbd.backend import RbdBackend


def rbd(info, *args: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(["rbd", "--conf", str(info.conf), "--keyring", str(info.keyring), "--id",
                     info.user, "--no-progress", *args])


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def timed(coro) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), cpu()
    await coro
    return time.perf_counter() - w, cpu() - c


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="profile-copy-"))
    clusters = []
    try:
        for i in range(2):
            clusters.append(start_cluster(root / f"c{i}", pools=("images",),
                                          memstore_bytes=6 * size + (1 << 30)))
        c0, c1 = clusters
        dense = root / "dense.raw"
        make_dense(dense, size)
        run(rbd(c0, "import", "--object-size", "8M", str(dense), "images/src"))
        src = RbdBackend("c0", conf=c0.conf, user=c0.user, keyring=c0.keyring)
        dst = RbdBackend("c1", conf=c1.conf, user=c1.user, keyring=c1.keyring)
        await src.open()
        await dst.open()
        sdev = DeviceRef("images", "src")
        results: dict[str, list[tuple[float, float]]] = {}

        def note(what: str, wall: float, cpu_s: float) -> None:
            results.setdefault(what, []).append((wall, cpu_s))
            print(f"  {what:<52} {wall:6.2f} s  cpu {cpu_s:5.2f} s  load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)

        async def drain(chunk: int, depth: int) -> None:
            async for _ in src.read_extents(sdev, chunk_size=chunk, depth=depth):
                pass

        async def memory_chunks(chunk: int) -> AsyncIterator[tuple[int, bytes]]:
            block = os.urandom(chunk)
            for pos in range(0, size, chunk):
                yield pos, block

        async def write_only(name: str, chunk: int, window: int) -> None:
            d = DeviceRef("images", name)
            await dst.create(d, size)
            await dst.write_extents(d, memory_chunks(chunk), window=window)

        async def copy(name: str, chunk: int, depth: int, window: int) -> None:
            d = DeviceRef("images", name)
            await dst.create(d, size)
            await dst.write_extents(d, src.read_extents(sdev, chunk_size=chunk, depth=depth),
                                    window=window)

        variants = [(8 * MiB, 4, 8), (8 * MiB, 8, 8), (4 * MiB, 8, 16), (16 * MiB, 4, 4),
                    (8 * MiB, 2, 8)]
        for r in range(args.repeat):
            w = run(rbd(c0, "export", "images/src", "-") + " | " + rbd(c1, "import", "-",
                                                                      "images/peer"))
            note("rbd export | rbd import", w, 0.0)
            run(rbd(c1, "rm", "images/peer"))
            note("read side: read_extents 8 MiB x 4, drained", *await timed(drain(8 * MiB, 4)))
            note("write side: write_extents 8 MiB x 8, from memory",
                 *await timed(write_only(f"w{r}", 8 * MiB, 8)))
            await dst.remove(DeviceRef("images", f"w{r}"))
            for chunk, depth, window in variants:
                label = f"copy: chunk {chunk // MiB} MiB, read-ahead {depth}, window {window}"
                note(label, *await timed(copy(f"c{r}", chunk, depth, window)))
                await dst.remove(DeviceRef("images", f"c{r}"))
        print()
        print("| stage | wall (median) | CPU of this process |")
        print("|---|---:|---:|")
        for what, rows in results.items():
            print(f"| {what} | {median([w for w, _ in rows]):.2f} s | "
                  f"{median([c for _, c in rows]):.2f} s |")
        print(f"load average: {os.getloadavg()}")
        await src.close()
        await dst.close()
    finally:
        for info in clusters:
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
