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
    """Rows of (measurement, ours, the CLI peer, ratio[, Glance in the same run, ratio])."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, what: str, ours_s: float, peer_s: float, nbytes: int, peer: str,
            glance_s: float | None = None) -> None:
        mbps = lambda s: f"{nbytes / s / 1e6:,.0f} MB/s ({s:.2f} s)"  # noqa: E731
        row = (what, mbps(ours_s), f"{peer}: {mbps(peer_s)}", f"{peer_s / ours_s:.2f}x")
        if glance_s is not None:
            row += (mbps(glance_s), f"{glance_s / ours_s:.2f}x")
        self.rows.append(row)
        tail = f"   Glance {row[4]:>24} ratio {row[5]}" if glance_s is not None else ""
        print(f"{what:<48} {row[1]:>26}   {row[2]:<40} ratio {row[3]}{tail}", flush=True)

    def add_times(self, what: str, ours_s: float, other: str) -> None:
        self.rows.append((what, f"{ours_s:.3f} s", other, ""))
        print(f"{what:<48} {ours_s:>10.3f} s   {other}", flush=True)

    def markdown(self) -> str:
        glance = any(len(r) > 4 for r in self.rows)
        head = ("| measurement | cowcloud | peer (same run, same data) | ratio (peer time / ours) |"
                + (" Glance 33 (same run, same cluster) | ratio (Glance time / ours) |"
                   if glance else ""))
        lines = [head, "|---|---:|---|---:|" + ("---:|---:|" if glance else "")]
        for row in self.rows:
            cells = [c.replace("|", chr(92) + "|") for c in row]
            cells += [""] * ((6 if glance else 4) - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def start_server(folder: Path, password: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`cowcloud serve` on FOLDER/cowcloud.toml (its [server] port set), logging to
    FOLDER/server.log; returns the process and its URL once /healthz answers."""
    import httpx  # the venv's; _common is imported by scripts that may run without it

    config = folder / "cowcloud.toml"
    port = next(int(line.split("=")[1]) for line in config.read_text().splitlines()
                if line.strip().startswith("port"))
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/cowcloud"), "serve", "--config", str(config),
                             "--log-level", "WARNING"], stdout=log, stderr=log,
                            env={**os.environ, "COWCLOUD_ADMIN_PASSWORD": password, **env})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start (see {folder / 'server.log'})")


def admin_token(url: str, password: str) -> tuple[str, str]:
    """(token, project id) of the admin, scoped to the admin project."""
    import httpx

    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    resp = httpx.post(f"{url}/identity/v3/auth/tokens", json=body)
    return resp.headers["X-Subject-Token"], resp.json()["token"]["project"]["id"]
