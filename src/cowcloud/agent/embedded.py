"""The agent `cowcloud serve` runs for its own machine (`[compute] local_agent`, on by
default): in-process, over LocalChannel, on the process's own clusters, reaching the
ephemeral backends of the server's configuration. Refused its host (another agent holds it
up), it says so and the server serves on without it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..services.runtime import Runtime
from .channel import AgentRefused
from .local import LocalChannel
from .run import build

log = logging.getLogger("cowcloud.agent")


class EmbeddedAgent:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        agent = build(self.runtime.settings, LocalChannel(self.runtime.compute),
                      self.runtime.clusters)
        try:
            await agent.register()
        except AgentRefused as exc:
            log.error("this machine's compute agent did not start: %s", exc.message)
            return
        except Exception:  # the API serves on without this machine's agent
            log.exception("this machine's compute agent did not start")
            return
        self._task = asyncio.create_task(self._run(agent), name="local-agent")

    async def _run(self, agent) -> None:  # type: ignore[no-untyped-def]
        try:
            await agent.run(self._stop)
        except AgentRefused as exc:
            log.error("this machine's compute agent stopped: %s", exc.message)
        except Exception:
            log.exception("this machine's compute agent failed")

    async def stop(self, grace: float = 5) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, grace)
