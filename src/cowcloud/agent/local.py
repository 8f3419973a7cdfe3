"""The channel of the agent `cowcloud serve` runs for its own machine: the same calls as the
HTTP channel, made on the process's compute service directly (no token, no socket), so the
embedded default is a whole cloud in one process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..services.compute import ComputeService
from ..services.context import RequestContext
from .channel import ChannelError

# the control plane's own identity for its in-process agent
LOCAL_AGENT = RequestContext(user_id="cowcloud-agent", user_name="cowcloud-agent",
                             project_id=None, project_name=None, domain_id=None,
                             roles=("admin", "member", "reader"))


class LocalChannel:
    def __init__(self, compute: ComputeService) -> None:
        self.compute = compute

    async def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        return await self.compute.register_host(LOCAL_AGENT, {"host": spec})

    async def heartbeat(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.compute.heartbeat(LOCAL_AGENT, host, body)

    async def work(self, host: str, session: str, wait: float) -> list[dict[str, Any]]:
        return await self.compute.next_work(LOCAL_AGENT, host, session, wait)

    async def report(self, host: str, session: str, work_id: int,
                     result: dict[str, Any]) -> None:
        await self.compute.report_work(LOCAL_AGENT, host, session, work_id, result)

    async def image_chunks(self, image_id: str) -> AsyncIterator[bytes]:
        # this machine's agent reaches every cluster the control plane has: a copy is cloned
        # or copied device to device, never downloaded
        raise ChannelError(f"image {image_id}: the local agent does not download images")
        yield b""  # pragma: no cover - makes this an async generator

    async def close(self) -> None:
        return None
