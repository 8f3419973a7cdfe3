"""Running an agent: `cowcloud agent` (its own process, HTTP to the control plane) and the
one `cowcloud serve` runs in-process for its own machine (local.py's channel)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from ..block.targets import Targets
from ..config import LocalClusterSettings, Settings
from ..hypervisor.driver import Driver
from ..storage.base import BaseBackend
from ..storage.registry import Clusters
from . import facts
from .channel import Channel, HttpChannel
from .worker import Agent

ENV_PASSWORD = "COWCLOUD_AGENT_PASSWORD"


async def _local_pools(settings: Settings, name: str, backend: BaseBackend) -> None:
    """A local cluster's pools are folders: the agent makes those of its ephemeral backends
    (as the server does for its targets; Ceph pools are the operator's)."""
    if not isinstance(settings.clusters[name], LocalClusterSettings):
        return
    for target in settings.ephemeral_backends.values():
        if target.cluster == name:
            await backend.create_pool(target.pool)


def make_driver(settings: Settings, state_dir: Path) -> Driver:
    if settings.agent.driver == "qemu":
        from ..hypervisor import qemu  # built on its own branch; imported only when asked

        return qemu.QemuDriver(state_dir / "qemu")  # type: ignore[attr-defined,no-any-return]
    from ..hypervisor.fake import FakeDriver

    return FakeDriver(state_dir / "fake")


def state_dir_of(settings: Settings) -> Path:
    return settings.agent.state_dir or (settings.server.data_dir / "agent"
                                        / facts.host_name(settings))


def build(settings: Settings, channel: Channel, clusters: Clusters) -> Agent:
    state = state_dir_of(settings)
    return Agent(settings, channel, make_driver(settings, state), Targets(settings, clusters),
                 state)


async def serve_agent(settings: Settings) -> None:
    """`cowcloud agent` until SIGTERM or SIGINT; AgentRefused when the host is held."""
    password = settings.agent.password or os.environ.get(ENV_PASSWORD)
    if not password:
        from ..config import ConfigError

        raise ConfigError(f"agent.password: the agent's service user needs a password "
                          f"(in the file or ${ENV_PASSWORD})")
    clusters = Clusters(settings)
    clusters.on_open(lambda name, backend: _local_pools(settings, name, backend))
    await clusters.open(wait=settings.server.cluster_wait_seconds)
    channel = HttpChannel(settings.agent.control_url or settings.server.url,
                          settings.agent.username, password, settings.agent.project,
                          settings.agent.domain)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    agent = build(settings, channel, clusters)
    try:
        await agent.register()
        await agent.run(stop)
    finally:
        agent.release()
        await channel.close()
        await clusters.close()
