"""Shared by the benchmarks: timing, data files, the peers' command lines, and a results table."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # ceph_clusters: the same throwaway clusters the tests use

MiB = 1 << 20
GiB = 1 << 30


def make_dense(path: Path, size: int) -> None:
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 64 * MiB)
            f.write(os.urandom(n))
            left -= n


def make_sparse(path: Path, size: int, data: int = 16 * MiB) -> None:
    """`size` bytes holding `data` bytes of random data in 1 MiB pieces spread over the file."""
    with path.open("wb") as f:
        f.truncate(size)
        pieces = data // MiB
        for i in range(pieces):
            f.seek(i * (size // pieces))
            f.write(os.urandom(MiB))


def run(cmd: list[str] | str, **kw: object) -> float:
    """Runs a peer command; returns its wall time."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, shell=isinstance(cmd, str), stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, ours_s: float, peer_s: float, nbytes: int, peer: str) -> None:
        mbps = lambda s: f"{nbytes / s / 1e6:,.0f} MB/s ({s:.2f} s)"  # noqa: E731
        self.rows.append((what, mbps(ours_s), f"{peer}: {mbps(peer_s)}", f"{peer_s / ours_s:.2f}x"))
        print(f"{what:<48} {self.rows[-1][1]:>26}   {self.rows[-1][2]:<40} ratio {self.rows[-1][3]}",
              flush=True)

    def add_times(self, what: str, ours_s: float, other: str) -> None:
        self.rows.append((what, f"{ours_s:.3f} s", other, ""))
        print(f"{what:<48} {ours_s:>10.3f} s   {other}", flush=True)

    def markdown(self) -> str:
        lines = ["| measurement | cowcloud | peer (same run, same data) | ratio (peer time / ours) |",
                 "|---|---:|---|---:|"]
        lines += [f"| {a} | {b} | {c.replace('|', chr(92) + '|')} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)
