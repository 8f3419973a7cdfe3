"""A real guest under the qemu driver: time from spawn to its first console line and to the line
where it has read its disk's marker (the small Debian guest of scripts/guest-image).

    .venv/bin/python bench/bench_guest.py [--repeat 5] [--rbd] [--kvm]

For each run: the driver's spawn (QEMU started paused, disks added over QMP, cont), then the console
file is polled every 5 ms. The peer is the same guest started by a bare qemu-system-x86_64 command
line (disk on the command line, no QMP), in the same run: the driver's own cost is the difference.
--rbd also boots from a COW clone on a throwaway Ceph cluster (QEMU's librbd opens the image);
--kvm also measures KVM when /dev/kvm can make a VM. Medians, then a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from _common import ROOT, MiB, median

from cowcloud.hypervisor import FileDisk, GuestDisk, GuestSpec, PowerState, RbdDisk
from cowcloud.hypervisor.probe import kvm_runs
from cowcloud.hypervisor.qemu import QemuDriver

READ = "cowcloud-guest: read"
CMDLINE = "console=ttyS0 cowcloud.mark=bench"


def guest_image() -> tuple[Path, Path]:
    out = subprocess.run([str(ROOT / "scripts" / "guest-image")], check=True,
                         capture_output=True, text=True).stdout
    kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Path(kv["KERNEL"]), Path(kv["INITRD"])


def marked_file(path: Path) -> Path:
    with path.open("wb") as f:
        f.write(b"cowcloud-image-mark:bench\n".ljust(8 * MiB, b"\0"))
    return path


async def watch(console: Path, start: float, timeout: float = 300) -> tuple[float, float]:
    """Seconds from `start` to the console's first line and to the marker line."""
    first = None
    while time.perf_counter() - start < timeout:
        try:
            text = console.read_bytes()
        except FileNotFoundError:
            text = b""
        if first is None and b"\n" in text:
            first = time.perf_counter() - start
        if READ.encode() in text:
            assert first is not None
            return first, time.perf_counter() - start
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no {READ!r} on {console} within {timeout} s")


async def driver_run(drv: QemuDriver, kernel: Path, initrd: Path,
                     disk: GuestDisk) -> tuple[float, float, float]:
    spec = GuestSpec(uuid=str(uuid.uuid4()), name="bench", vcpus=1, memory_mib=256,
                     disks=(disk,), kernel=kernel, initrd=initrd, cmdline=CMDLINE)
    start = time.perf_counter()
    await drv.spawn(spec)
    spawned = time.perf_counter() - start
    first, marker = await watch(drv.state_dir / spec.uuid / "console.log", start)
    while await drv.state(spec.uuid) == PowerState.RUNNING:   # let it finish its write
        await asyncio.sleep(0.05)
    await drv.destroy(spec.uuid)
    return spawned, first, marker


async def bare_run(accel: str, kernel: Path, initrd: Path, disk: Path,
                   work: Path) -> tuple[float, float]:
    console = work / "bare-console.log"
    console.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "qemu-system-x86_64", "-machine", f"pc,accel={accel}", "-m", "256M", "-nodefaults",
        "-no-user-config", "-display", "none", "-serial", f"file:{console}", "-nic", "none",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", CMDLINE,
        "-drive", f"file={disk},format=raw,if=virtio",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        return await watch(console, start)
    finally:
        await proc.wait()   # the guest powers itself off


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rbd", action="store_true")
    ap.add_argument("--kvm", action="store_true")
    args = ap.parse_args()
    kernel, initrd = guest_image()
    work = Path(tempfile.mkdtemp(prefix="ccbg-"))
    cluster = None
    rows: list[str] = []
    try:
        disks: list[tuple[str, object]] = [("local raw file", None)]
        if args.rbd:
            from ceph_clusters import start_cluster

            from cowcloud.storage import DeviceRef
            from cowcloud.storage.rbd.backend import RbdBackend
            cluster = start_cluster(work / "ceph", pools=("rbd",))
            rbd = RbdBackend("ceph", conf=cluster.conf, user=cluster.user,
                             keyring=cluster.keyring)
            await rbd.open()
            image = DeviceRef("rbd", "image")
            await rbd.create(image, 8 * MiB)
            await rbd.write(image, 0, b"cowcloud-image-mark:bench\n")
            snap = await rbd.snapshot(image, "snap")
            await rbd.protect(snap)
            key = subprocess.run(["ceph", "--conf", str(cluster.conf), "-k",
                                  str(cluster.keyring), "auth", "print-key",
                                  f"client.{cluster.user}"],
                                 check=True, capture_output=True, text=True).stdout.strip()
            disks.append(("RBD COW clone", (rbd, snap, key)))
        accels = ["tcg"] + (["kvm"] if args.kvm and kvm_runs() else [])
        print(f"{'guest':<32} {'spawn':>8} {'1st line':>9} {'marker':>8}   bare qemu: "
              f"1st line, marker (medians of {args.repeat})", flush=True)
        for accel in accels:
            drv = QemuDriver(work / f"g-{accel}", accel=accel)
            for label, extra in disks:
                runs, bare = [], []
                for i in range(args.repeat):
                    path = marked_file(work / "disk.raw")
                    if extra is None:
                        disk = GuestDisk(FileDisk(path, "raw"), "root")
                    else:
                        rbd, snap, key = extra  # type: ignore[misc]
                        clone = DeviceRef("rbd", f"disk{accel}{i}")
                        await rbd.clone(snap, clone)
                        disk = GuestDisk(RbdDisk("rbd", clone.name, str(cluster.conf),  # type: ignore[union-attr]
                                                 cluster.user, key), "root")  # type: ignore[union-attr]
                    runs.append(await driver_run(drv, kernel, initrd, disk))
                    bare.append(await bare_run(accel, kernel, initrd, marked_file(path), work))
                spawn = median([r[0] for r in runs])
                first = median([r[1] for r in runs])
                marker = median([r[2] for r in runs])
                bfirst = median([b[0] for b in bare])
                bmarker = median([b[1] for b in bare])
                what = f"{accel.upper()}, {label}"
                print(f"{what:<32} {spawn:>7.3f}s {first:>8.3f}s {marker:>7.3f}s   "
                      f"{bfirst:.3f} s, {bmarker:.3f} s", flush=True)
                rows.append(f"| {what} | {spawn:.2f} s | {first:.2f} s | {marker:.2f} s | "
                            f"{bfirst:.2f} s | {bmarker:.2f} s |")
        print("\n| guest (1 vCPU, 256 MiB) | spawn returns | first console line | marker read "
              "| bare qemu: first line | bare qemu: marker read |")
        print("|---|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    finally:
        if cluster is not None:
            from ceph_clusters import stop_cluster
            stop_cluster(cluster.dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
