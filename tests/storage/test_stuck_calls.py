"""A cluster connection closed while a call is stuck (in librados, in real life): the close is
bounded, the connection is marked abandoned so the process leaves without joining the thread,
and the log names the call and where its thread waits."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from cowcloud.storage.rbd import cluster as cluster_mod
from cowcloud.storage.rbd.cluster import RbdCluster


def _wait_for_ever(release: threading.Event) -> None:
    release.wait(30)


async def test_close_names_the_stuck_call(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                          ) -> None:
    conf = tmp_path / "ceph.conf"  # never connected: the call below needs no cluster
    cluster = RbdCluster(conf, "admin", None, io_threads=2)
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        _wait_for_ever(release)
    job = asyncio.ensure_future(cluster.call(stuck, what="remove volumes/volume-x"))
    try:
        await asyncio.to_thread(started.wait, 10)
        with caplog.at_level(logging.WARNING, logger="cowcloud.storage"):
            await cluster.close(grace=0.2)
        assert str(conf) in cluster_mod.ABANDONED
        warning = " ".join(r.getMessage() for r in caplog.records)
        assert "1 storage calls did not return" in warning
        assert "remove volumes/volume-x at" in warning and "_wait_for_ever" in warning
    finally:
        release.set()
        await job
        cluster_mod.ABANDONED.discard(str(conf))  # the thread is done: the process may join it
    assert cluster._busy == 0
