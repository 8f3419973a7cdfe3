"""Session-wide real parts: two throwaway Ceph clusters, started once per test run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ceph_clusters import CephClusterInfo, ceph_available, start_cluster, stop_cluster
from pg_server import postgres_available, start_postgres, stop_postgres

CEPH_POOLS = ("rbd", "images", "volumes", "backups")


def _need(reason: str | None, what: str) -> None:
    """Skip with the reason where a real part is missing; in CI a missing part is a failure."""
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    _need(postgres_available(), "PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="cowcloud-pg-"))
    try:
        url, _port = start_postgres(folder)
        yield url
    finally:
        stop_postgres(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ceph_clusters() -> Iterator[list[CephClusterInfo]]:
    """Two clusters, as two sites would have: proves cross-cluster copy and can_clone=false."""
    _need(ceph_available(), "Ceph")
    root = Path(tempfile.mkdtemp(prefix="cowcloud-ceph-"))
    started: list[CephClusterInfo] = []
    try:
        for i in range(2):
            started.append(start_cluster(root / f"c{i}", pools=CEPH_POOLS))
        yield started
    finally:
        for info in started:
            LEFT_AT_THE_END.append(_leftovers(info))
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


LEFT_AT_THE_END: list[str] = []  # per session cluster, for the run's summary


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in LEFT_AT_THE_END:
        terminalreporter.write_line(f"left in the session's Ceph clusters: {line}")


def _leftovers(info: CephClusterInfo) -> str:
    """What the run left in a session cluster's pools: data the tests leak adds up there, and a
    memstore OSD that fills blocks every later write (and rbd rm) of the run."""
    found = []
    for pool in CEPH_POOLS:
        res = subprocess.run(["rbd", "--conf", str(info.conf), "--keyring", str(info.keyring),
                              "ls", "--format", "json", pool],
                             capture_output=True, text=True, timeout=60)
        try:
            listed = sorted(json.loads(res.stdout or "[]"))
        except ValueError:
            found.append(f"{pool}: rbd ls failed: {res.stderr.strip()[:200]}")
            continue
        if listed:
            more = ", ..." if len(listed) > 5 else ""
            found.append(f"{pool}: {len(listed)} images ({', '.join(listed[:5])}{more})")
    return f"{info.dir}: " + ("; ".join(found) or "pools empty")


@pytest.fixture(scope="session")
def ceph(ceph_clusters: list[CephClusterInfo]) -> CephClusterInfo:
    return ceph_clusters[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    """A server the tests ran in this process may have abandoned a cluster connection with a
    call stuck in librados (its close logs which): the interpreter would join that worker thread
    forever at exit, as `cowcloud serve` would without its own exit. Leave without joining, with
    the run's status, once pytest has printed everything."""
    import sys

    cluster = sys.modules.get("cowcloud.storage.rbd.cluster")
    if cluster is not None and cluster.ABANDONED:
        print(f"\nstorage calls stuck in librados on {sorted(cluster.ABANDONED)}: leaving "
              "without joining their threads", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(getattr(config, "_cowcloud_status", 1)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._cowcloud_status = exitstatus  # type: ignore[attr-defined]
