"""The agent's own decisions, with a channel that records what it is told."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cowcloud.agent.run import build
from cowcloud.config import Settings
from cowcloud.storage.registry import Clusters


class Recorder:
    def __init__(self) -> None:
        self.registered: list[dict[str, Any]] = []
        self.beats = 0

    async def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.registered.append(spec)
        return {"session": f"s{len(self.registered)}"}

    async def heartbeat(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        self.beats += 1
        return {}


@pytest.mark.ceph
async def test_a_backend_whose_cluster_opens_later_is_registered_then(
        tmp_path: Path, ceph: Any) -> None:
    settings = Settings.model_validate({
        "server": {"data_dir": str(tmp_path)}, "sites": {"s": {}},
        "clusters": {"ceph": {"kind": "rbd", "site": "s", "conf": str(ceph.conf),
                              "keyring": str(ceph.keyring), "user": ceph.user}},
        "ephemeral_backends": {"rbd-vms": {"cluster": "ceph", "pool": "rbd"}}})
    clusters = Clusters(settings)
    channel = Recorder()
    agent = build(settings, channel, clusters)  # type: ignore[arg-type]
    try:
        await agent.register()
        assert channel.registered[0]["backends"] == []  # the cluster is not open yet
        await clusters.open()
        agent.heartbeat_seconds = 0.05
        stop = asyncio.Event()
        beats = asyncio.create_task(agent._heartbeats(stop))
        for _ in range(200):
            if len(channel.registered) > 1 and channel.beats:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await beats
        assert [b["name"] for b in channel.registered[1]["backends"]] == ["rbd-vms"]
        assert channel.registered[1]["session"] == "s1"  # its own successor
    finally:
        agent.release()
        await clusters.close()
