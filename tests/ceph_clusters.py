"""Throwaway single-node Ceph clusters for tests, via scripts/ceph-dev-cluster.

Stdlib only, so conftest files can import it anywhere. Typical fixture:

    reason = ceph_available()
    if reason: pytest.skip(reason)
    info = start_cluster(tmp_path_factory.mktemp("ceph"))
    yield info
    stop_cluster(info.dir)
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ceph-dev-cluster"
DEFAULT_MEMSTORE_BYTES = 2 << 30


@dataclass(frozen=True)
class CephClusterInfo:
    conf: Path
    keyring: Path
    fsid: str
    user: str  # rados id, e.g. "admin" (-> client.admin)
    dir: Path


def ceph_available() -> str | None:
    """None if a cluster can be started here, else why not (for pytest.skip)."""
    missing = [t for t in ("ceph-mon", "ceph-osd", "ceph", "rbd", "ceph-authtool", "monmaptool")
               if shutil.which(t) is None]
    if missing:
        return f"ceph tools not installed: {', '.join(missing)} (apt install ceph-mon ceph-osd ceph-common)"
    if not SCRIPT.is_file():
        return f"{SCRIPT} is missing"
    # The rados/rbd bindings are Debian packages (python3-rados, python3-rbd): only the
    # interpreter they were built for can import them.
    for mod in ("rados", "rbd"):
        if importlib.util.find_spec(mod) is None:
            return f"python module {mod!r} not importable (apt install python3-{mod}; use /usr/bin/python3)"
    return None


def start_cluster(dir: Path, pools: tuple[str, ...] = ("rbd",),
                  memstore_bytes: int = DEFAULT_MEMSTORE_BYTES, timeout: float = 120) -> CephClusterInfo:
    """Start a cluster whose files all live in `dir`; raise RuntimeError with its log on failure."""
    cmd = [str(SCRIPT), "start", str(dir), "--memstore-bytes", str(memstore_bytes)]
    if pools:
        cmd += ["--pools", ",".join(pools)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"ceph-dev-cluster start {dir} failed ({res.returncode}):\n{res.stderr}")
    kv = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return CephClusterInfo(conf=Path(kv["CONF"]), keyring=Path(kv["KEYRING"]), fsid=kv["FSID"],
                           user=kv["USER"], dir=Path(dir).resolve())


def stop_cluster(dir: Path, timeout: float = 60) -> None:
    """Stop the cluster's daemons (no-op if none run); the files in `dir` are kept."""
    if not Path(dir).is_dir():
        return
    res = subprocess.run([str(SCRIPT), "stop", str(dir)], capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"ceph-dev-cluster stop {dir} failed ({res.returncode}):\n{res.stderr}")


def _daemons(cmd: str, dir: Path, timeout: float) -> None:
    res = subprocess.run([str(SCRIPT), cmd, str(dir)], capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"ceph-dev-cluster {cmd} {dir} failed ({res.returncode}):\n{res.stderr}")


def stop_osd(dir: Path, timeout: float = 60) -> None:
    """Stops the cluster's OSD (its data is kept); the mon keeps answering, I/O waits."""
    _daemons("stop-osd", dir, timeout)


def start_osd(dir: Path, timeout: float = 90) -> None:
    """Starts the stopped OSD again and waits until it is up."""
    _daemons("start-osd", dir, timeout)


def stop_mon(dir: Path, timeout: float = 60) -> None:
    """Stops the cluster's mon: clients cannot connect."""
    _daemons("stop-mon", dir, timeout)


def start_mon(dir: Path, timeout: float = 90) -> None:
    _daemons("start-mon", dir, timeout)


def start_mgr(dir: Path, timeout: float = 120) -> None:
    """Starts a ceph-mgr and waits until `ceph df` reports the pools (pool statistics need it)."""
    _daemons("start-mgr", dir, timeout)


def stop_mgr(dir: Path, timeout: float = 60) -> None:
    _daemons("stop-mgr", dir, timeout)
