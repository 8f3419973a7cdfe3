"""What every part of the compute service works with: settings, database, and one short
transaction off the event loop at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ...config import Settings
from ...db import Database

T = TypeVar("T")


@dataclass
class Env:
    settings: Settings
    db: Database

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(session, *args) in one short transaction, off the event loop."""
        def job() -> T:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)
