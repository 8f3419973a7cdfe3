"""What every part of the compute service works with: settings, database, the control
plane's clusters (as named targets), the task runner and the image service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...storage import BaseBackend
from ...tasks import TaskRunner
from ..images import ImageService

T = TypeVar("T")

BUILD_KIND = "server_image_copy"


@dataclass
class Env:
    settings: Settings
    db: Database
    targets: Targets
    tasks: TaskRunner
    images: ImageService

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(session, *args) in one short transaction, off the event loop."""
        def job() -> T:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)

    def backend(self, cluster: str) -> BaseBackend:
        return self.targets.backend(cluster)

    def cluster_named(self, cluster_id: str) -> str | None:
        """The control plane's name for the cluster with that id, if it has it open."""
        for name in self.settings.clusters:
            with contextlib.suppress(Exception):
                if self.targets.backend(name).info.cluster_id == cluster_id:
                    return name
        return None
