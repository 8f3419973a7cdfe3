"""A progress watchdog for long transfers.

A copy whose peer stops answering may wait without end even when every single request has a
time limit (a window of writes whose completions never come back, a read that librados keeps
resending). `watched` runs the transfer with a progress callback; when the callback is not called
for `stall` seconds, the transfer is cancelled (its own undo steps run) and Stalled is raised,
so the caller (a task) fails or retries instead of holding its lease forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .contract import Progress
from .errors import Unavailable

T = TypeVar("T")


class Stalled(Unavailable):
    """A transfer made no progress for its stall timeout."""


def stall_of(*limits: float | None) -> float | None:
    """The tightest of the backends' stall timeouts (None: no limit)."""
    given = [x for x in limits if x]
    return min(given) if given else None


async def watched(work: Callable[[Progress], Awaitable[T]], stall: float | None, what: str,
                  progress: Progress | None = None) -> T:
    """work(tick), where tick(done, total) reports progress (and forwards it to `progress`)."""
    if stall is None:
        return await work(progress or (lambda done, total: None))
    loop = asyncio.get_running_loop()
    last = loop.time()

    def tick(done: int, total: int) -> None:
        nonlocal last
        last = loop.time()
        if progress:
            progress(done, total)

    task = asyncio.ensure_future(work(tick))
    try:
        while True:
            left = last + stall - loop.time()
            if left <= 0:
                break
            done, _ = await asyncio.wait({task}, timeout=left)
            if done:
                return task.result()
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    task.cancel()
    # The cancelled work's own cleanup (closing its images) gets one more stall period; a
    # cleanup that waits on the same silent cluster is left to finish in the background.
    await asyncio.wait({task}, timeout=stall)
    task.add_done_callback(_consume)
    raise Stalled(f"{what}: no progress for {stall:g} s")


def _consume(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()
