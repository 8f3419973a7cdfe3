"""Per-device NBD connections and the locks that keep qemu-img and qemu-nbd apart.

Each device that sees I/O gets one qemu-nbd, started lazily and stopped when idle, on close(),
and before any operation that changes its files: qemu-img must never change a file that qemu-nbd
has open for writing. A device's handle carries an asyncio lock (structural operations of this
process) next to the device's flock (other processes); I/O does not take either, it only counts
itself in `users` so that a structural operation can wait for in-flight requests to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from ..contract import DeviceRef
from ..errors import Fenced, Unavailable
from . import meta as metadata
from ._errors import map_errors
from .layout import Layout
from .meta import FileLock
from .nbd import NbdClient
from .qemu_nbd import NbdServer


class Handle:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # I/O requests in flight
        self.pins = 0  # coroutines holding a reference (the janitor forgets unpinned handles)
        self.idle = asyncio.Event()
        self.idle.set()
        self.server: NbdServer | None = None
        self.client: NbdClient | None = None
        self.size = 0  # exact size, valid while the server runs (nobody can resize meanwhile)
        self.last_used = 0.0

    @property
    def usable(self) -> bool:
        return self.client is not None and not self.client.broken


class Handles:
    def __init__(self, layout: Layout, idle_timeout: float = 5.0,
                 guard: Callable[[], None] | None = None) -> None:
        self._layout = layout
        self.idle_timeout = idle_timeout
        # Called before every request (I/O or structural): raises to refuse it (fencing.py).
        self._guard = guard or (lambda: None)
        self._handles: dict[DeviceRef, Handle] = {}
        # Held while a file that other chains may read (a snapshot layer) is rewritten: no
        # server may start meanwhile, since qemu-nbd opens the whole chain.
        self._gate = asyncio.Lock()
        self._open = False
        self._janitor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._open = True
        self._janitor = asyncio.create_task(self._reap_idle())

    async def shutdown(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        for h in list(self._handles.values()):
            async with h.lock:
                await h.idle.wait()
                await self._stop(h)
        self._handles.clear()
        self._open = False

    def open_servers(self) -> list[int]:
        """Process ids of the running qemu-nbd servers (for tests and diagnostics)."""
        return [h.server.pid for h in self._handles.values() if h.server and h.server.pid]

    def _pin(self, dev: DeviceRef) -> Handle:
        h = self._handles.get(dev)
        if h is None:
            h = self._handles[dev] = Handle()
        h.pins += 1
        return h

    @asynccontextmanager
    async def io(self, dev: DeviceRef) -> AsyncIterator[Handle]:
        """The device's handle with a running NBD connection, counted as in use meanwhile."""
        self._guard()
        h = self._pin(dev)
        try:
            while True:
                if self._gate.locked():
                    # A snapshot layer is being rewritten: no I/O may begin on any device
                    # until it is done (the rewriter waits for what is already in flight).
                    async with self._gate:
                        pass
                elif h.lock.locked() or not h.usable:
                    # A structural operation on this device goes first; then a server is
                    # started if there is none.
                    async with h.lock:
                        if not h.usable:
                            await self._stop(h)
                            async with FileLock(self._layout.lock_file(dev)), self._gate:
                                await self._start(dev, h)
                else:
                    break  # from this check to `users += 1` nothing awaits: no one slips in
            h.users += 1
            h.idle.clear()
            try:
                yield h
            finally:
                h.users -= 1
                h.last_used = asyncio.get_running_loop().time()
                if h.users == 0:
                    h.idle.set()
        finally:
            h.pins -= 1

    @asynccontextmanager
    async def private(self, dev: DeviceRef) -> AsyncIterator[NbdClient]:
        """A short-lived server of the device's top, for a caller inside exclusive(dev)."""
        if not self._open:
            raise Unavailable(f"backend is closed; cannot open {dev}")
        server = NbdServer(self._layout.top(dev))
        with map_errors(f"open {dev}"):
            client = await server.start()
        try:
            yield client
            with map_errors(f"flush {dev}"):
                await client.flush()
        finally:
            try:
                await client.close()
            finally:
                await server.stop()

    async def flush_if_open(self, dev: DeviceRef) -> None:
        """Pushes qemu-nbd's cached qcow2 metadata to the file, so qemu-img -U sees the writes."""
        h = self._handles.get(dev)
        if h is None or not h.usable or h.lock.locked():
            return
        async with self.io(dev) as h:
            assert h.client is not None
            with map_errors(f"flush {dev}"):
                await h.client.flush()

    @asynccontextmanager
    async def exclusive(self, *devs: DeviceRef, drain: bool = True,
                        shared_files: bool = False) -> AsyncIterator[None]:
        """Holds the devices' locks (this process and others), taken in sorted order.

        drain: waits for their in-flight I/O and stops their servers (their files will change).
        shared_files: also stops every other server and keeps new ones from starting (a snapshot
        layer that other devices' chains read will change).
        """
        self._guard()
        handles = [self._pin(dev) for dev in sorted(set(devs))]
        try:
            async with AsyncExitStack() as stack:
                for dev, h in zip(sorted(set(devs)), handles, strict=True):
                    await stack.enter_async_context(h.lock)
                    await stack.enter_async_context(FileLock(self._layout.lock_file(dev)))
                if drain:
                    for h in handles:
                        await h.idle.wait()
                        await self._stop(h)
                if shared_files:
                    await stack.enter_async_context(self._gate)
                    for h in list(self._handles.values()):
                        await h.idle.wait()
                        await self._stop(h)
                yield
        finally:
            for h in handles:
                h.pins -= 1

    async def _start(self, dev: DeviceRef, h: Handle) -> None:
        top = self._layout.top(dev)
        chain = self._layout.chain(dev)  # NotFound if the device is gone
        size = metadata.load(self._layout.meta(dev)).exact_size(chain.top.size)
        if not self._open:
            raise Unavailable(f"backend is closed; cannot open {dev}")
        server = NbdServer(top)
        with map_errors(f"open {dev}"):
            h.client = await server.start()
        h.server, h.size = server, size

    async def _stop(self, h: Handle) -> None:
        client, server = h.client, h.server
        h.client = h.server = None
        try:
            if client is not None:
                await client.close()
        finally:
            if server is not None:
                await server.stop()

    async def _reap_idle(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout / 2))
            now = loop.time()
            try:
                self._guard()
                fenced = False
            except Fenced:
                # Let go of every device now: the client that fenced us waits to take them
                # over (qemu's image lock keeps a device to one process).
                fenced = True
            for dev, h in list(self._handles.items()):
                if (h.client is not None and h.users == 0 and not h.lock.locked()
                        and (fenced or now - h.last_used >= self.idle_timeout)):
                    async with h.lock:
                        if h.users == 0:
                            await self._stop(h)
                if h.client is None and h.pins == 0 and not h.lock.locked():
                    del self._handles[dev]  # nobody refers to it: forget it
