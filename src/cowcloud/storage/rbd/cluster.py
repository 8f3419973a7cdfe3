"""One long-lived librados connection per Ceph cluster, and the thread pool its calls run on.

librados and librbd block, so every call runs on this cluster's own executor inside the error
mapper. An rbd.Image is opened, used and closed inside one executor job (`with_image`); only
long streams keep one open across jobs, inside an `ImageSession` whose jobs run one at a time
and which closes the image on the executor as well. Holding a worker for a whole stream would
let chained streams (read one device, write another in the same cluster) exhaust the pool and
deadlock, so a stream never blocks a worker while it waits for its consumer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import rados  # type: ignore[import-not-found]
import rbd  # type: ignore[import-not-found]

from ..contract import DeviceRef
from ..errors import Fenced, NotFound, Unavailable
from ._errors import error_for_errno, map_rbd_errors
from .timeouts import Timeouts

T = TypeVar("T")
log = logging.getLogger("cowcloud.storage")

CLOSE_GRACE = 3.0  # seconds a close waits for calls still running on the executor
# Connections (conf paths) closed with calls still stuck in librados: their worker threads never
# end, so the process must leave with os._exit (cli serve) instead of joining them.
ABANDONED: set[str] = set()

# Format 2 images with everything clones and cheap extent maps need: fast-diff keeps
# diff_iterate (extents, usage) from reading every object; deep-flatten lets a flattened
# clone drop its parent even when the clone has snapshots.
IMAGE_FEATURES = (rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK
                  | rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF
                  | rbd.RBD_FEATURE_DEEP_FLATTEN)
Image = Any  # rbd.Image: untyped binding
Ioctx = Any  # rados.Ioctx


def _consume(fut: asyncio.Future[Any]) -> None:
    """Marks a background job's outcome as seen (its caller may have been cancelled)."""
    if not fut.cancelled():
        fut.exception()


async def _in_daemon_thread(fn: Callable[[], None], timeout: float) -> None:
    """fn() on a thread of its own, waited for at most `timeout` s: rados shutdown may wait on
    a cluster that is away, and a stuck default-executor thread would hang the interpreter's
    exit (asyncio.run joins those threads), a daemon thread does not."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)

    def run() -> None:
        exc: BaseException | None = None
        try:
            fn()
        except BaseException as e:  # reported to the waiter
            exc = e
        try:
            loop.call_soon_threadsafe(settle, exc)
        except RuntimeError:
            pass  # the loop is gone: nobody waits any more
    threading.Thread(target=run, daemon=True, name="rbd-close").start()
    try:
        await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        log.warning("rados shutdown did not return in %g s; left to the process's end", timeout)


def _mapped(what: str, fn: Callable[..., T], *args: Any) -> T:
    with map_rbd_errors(what):
        return fn(*args)


class RbdCluster:
    """A connection to one Ceph cluster: rados handle, ioctx per pool, executor. Thread safe."""

    def __init__(self, conf: Path, user: str, keyring: Path | None, io_threads: int = 8,
                 timeouts: Timeouts | None = None) -> None:
        self.conf = Path(conf)
        self.user = user
        self.keyring = Path(keyring) if keyring else None
        self.timeouts = timeouts or Timeouts()
        self._executor = ThreadPoolExecutor(max_workers=max(1, io_threads),
                                            thread_name_prefix=f"rbd-{user}")
        self._rados: Any = None
        self._ioctx: dict[str, Ioctx] = {}
        self._ioctx_lock = threading.Lock()
        self._fsid = ""
        self._address = ""
        self._closed = False
        self._rbd = rbd.RBD()
        self._sessions: set[ImageSession] = set()
        # the executor jobs running now: worker thread id -> what the job does
        self._running: dict[int, str] = {}
        self.fenced = False  # last seen blocklisted (check_fenced)
        self._busy_lock = threading.Lock()

    # -------------------------------------------------------------- lifecycle

    async def connect(self) -> None:
        if not self.conf.is_file():
            raise Unavailable(f"ceph config {self.conf} does not exist")
        await self.call(self._connect, what=f"connect to {self.conf} as client.{self.user}")

    def _connect(self) -> None:
        settings = {
            # Rados.connect() ignores its timeout argument: client_mount_timeout bounds the mon
            # handshake; the op timeouts end every OSD and mon wait (timeouts.py).
            **self.timeouts.rados_conf(),
            # librbd's break_lock would otherwise blocklist the owner itself; break_lock in
            # locks.py does that explicitly, and never for our own address.
            "rbd_blocklist_on_break_lock": "false",
            # Clone v1 semantics whatever the cluster's min-compat client: clones need a
            # protected snapshot, as the contract says.
            "rbd_default_clone_format": "1",
            # Streams hand librbd whole 8 MiB bytes objects and keep them alive until the
            # aio callback (io.py): with the cache off librbd sends them without copying,
            # a third less client CPU per GiB. The writearound cache only hides write
            # latency, which the aio window already does.
            "rbd_cache": "false",
            "rbd_disable_zero_copy_writes": "false",
        }
        if self.keyring:
            settings["keyring"] = str(self.keyring)
        handle = rados.Rados(conffile=str(self.conf), rados_id=self.user, conf=settings)
        try:
            handle.connect()
            self._fsid = handle.get_fsid()
            self._address = handle.get_addrs()
        except BaseException:
            handle.shutdown()
            raise
        self._rados = handle

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Waits for running jobs, then closes ioctxs and the connection. Idempotent.

        Bounded: jobs still waiting on a cluster that does not answer after `grace` seconds
        are abandoned with the connection (shutting librados down under them would crash the
        process), so a server stop never hangs on storage; see `abandoned`."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # Streams still open (a caller closing us mid-stream): close their images while the
        # executor still runs; an image outliving its rados handle crashes when collected.
        closing = [asyncio.ensure_future(s.close()) for s in list(self._sessions)]
        if closing:
            await asyncio.wait(closing, timeout=grace)
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        while self._busy and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self._busy or any(not f.done() for f in closing):
            ABANDONED.add(str(self.conf))
            log.warning("closing %s: %d storage calls did not return; left to the process's "
                        "end: %s", self.conf, self._busy, self._stuck_calls())
            return
        await _in_daemon_thread(self._disconnect, grace)

    @property
    def _busy(self) -> int:
        return len(self._running)

    def _stuck_calls(self) -> str:
        """What each job still running does and where its thread waits: the evidence a hang
        in librados leaves, since the call itself never returns to report it."""
        frames = sys._current_frames()
        with self._busy_lock:
            running = dict(self._running)
        return "; ".join(
            f"{what} at " + " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                      for f in reversed(traceback.extract_stack(frames[tid])[-4:]))
            for tid, what in running.items() if tid in frames)

    def _disconnect(self) -> None:
        with self._ioctx_lock:
            for ioctx in self._ioctx.values():
                ioctx.close()
            self._ioctx.clear()
        if self._rados is not None:
            self._rados.shutdown()
            self._rados = None

    # -------------------------------------------------------------- identity

    @property
    def fsid(self) -> str:
        return self._fsid

    @property
    def address(self) -> str:
        """This client's messenger address, as lock listings show it."""
        return self._address

    def check_fenced(self) -> None:
        """Raises Fenced if the cluster blocklists this connection (or its host); only inside
        executor jobs. A blocklisted client may still ask the mon."""
        from .fencing import covers, listed  # fencing.py builds on this module
        self.fenced = any(covers(e.client, self._address) for e in listed(self))
        if self.fenced:
            raise Fenced(f"this client ({self._address}) is blocklisted: it was fenced by "
                         "another host; its writes in flight will never complete")

    @property
    def instance_id(self) -> int:
        """librados' global id of this connection ("client.N"): constant while it lives."""
        return int(self._handle().get_instance_id())

    # -------------------------------------------------------------- executor jobs

    async def call(self, fn: Callable[..., T], *args: Any, what: str = "") -> T:
        """Runs a blocking librbd/librados call on this cluster's executor, errors mapped."""
        if self._closed:
            raise Unavailable(f"connection to {self.conf} is closed")
        loop = asyncio.get_running_loop()
        label = what or getattr(fn, "__name__", "rbd call")
        return await loop.run_in_executor(self._executor, partial(self._job, label, fn, *args))

    def _job(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        me = threading.get_ident()
        with self._busy_lock:
            self._running[me] = what
        try:
            return _mapped(what, fn, *args)
        finally:
            with self._busy_lock:
                self._running.pop(me, None)

    def ioctx(self, pool: str) -> Ioctx:
        """The pool's ioctx, opened on first use and kept. Only call it inside executor jobs."""
        ioctx = self._ioctx.get(pool)
        if ioctx is not None:
            return ioctx
        with self._ioctx_lock:
            if pool not in self._ioctx:
                # Asked first so the error names the pool, not "object not found".
                if not self._handle().pool_exists(pool):
                    raise NotFound(f"pool {pool!r} does not exist")
                self._ioctx[pool] = self._handle().open_ioctx(pool)
            return self._ioctx[pool]

    def image(self, dev: DeviceRef, *, read_only: bool = False,
              snapshot: str | None = None) -> Image:
        """Opens an rbd.Image (a context manager). Only inside executor jobs."""
        return rbd.Image(self.ioctx(dev.pool), dev.name, snapshot=snapshot, read_only=read_only)

    @property
    def rbd(self) -> Any:
        """librbd's pool-level API (create, clone, remove...); stateless, safe to share."""
        return self._rbd

    @property
    def rados(self) -> Any:
        """The rados.Rados handle, for pool-level work inside executor jobs."""
        return self._handle()

    def _handle(self) -> Any:
        if self._rados is None:
            raise Unavailable(f"not connected to {self.conf}")
        return self._rados

    async def with_ioctx(self, pool: str, work: Callable[[Ioctx], T], what: str = "") -> T:
        return await self.call(lambda: work(self.ioctx(pool)), what=what or f"pool {pool}")

    async def with_image(self, dev: DeviceRef, work: Callable[[Image], T], *,
                         read_only: bool = False, snapshot: str | None = None,
                         what: str = "") -> T:
        """Opens dev, runs work(image) and closes it, all in ONE executor job."""
        def job() -> T:
            image = self.image(dev, read_only=read_only, snapshot=snapshot)
            try:
                return work(image)
            finally:
                image.close()
        return await self.call(job, what=what or str(dev))

    async def mon_command(self, cmd: dict[str, Any], what: str = "") -> bytes:
        """A mon command (JSON form, as the ceph CLI sends it); a nonzero reply is raised."""
        def job() -> bytes:
            ret, out, status = self._handle().mon_command(
                json.dumps(cmd), b"", timeout=max(1, round(self.timeouts.mon_op)))
            if ret != 0:
                raise error_for_errno(ret, f"{what or cmd['prefix']}: {status}")
            return bytes(out)
        return await self.call(job, what=what or str(cmd.get("prefix")))

    @asynccontextmanager
    async def session(self, dev: DeviceRef, *, read_only: bool = False,
                      what: str = "") -> AsyncIterator[ImageSession]:
        """An image kept open across several short jobs (for streams); closed on exit."""
        label = what or str(dev)
        opening = asyncio.ensure_future(
            self.call(lambda: self.image(dev, read_only=read_only), what=label))
        try:
            image = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The open still finishes on its worker: close what it opens, then give up.
            opening.add_done_callback(self._close_orphan)
            raise
        session = ImageSession(self, image, label)
        self._sessions.add(session)
        try:
            yield session
        finally:
            self._sessions.discard(session)
            await session.close()

    def _close_orphan(self, opening: asyncio.Future[Any]) -> None:
        if opening.cancelled() or opening.exception() is not None:
            return
        try:
            self._executor.submit(opening.result().close)
        except RuntimeError:  # executor already shut down: rados shutdown reclaims it
            pass


class ImageSession:
    """An open rbd.Image that only executor jobs touch, one job at a time.

    The event loop holds this object, never the image: `run(fn)` calls fn(image) on the
    executor. aio completions arrive on librbd's own threads (see io.py).
    """

    def __init__(self, cluster: RbdCluster, image: Image, what: str) -> None:
        self._cluster = cluster
        self._image = image
        self._what = what
        self._lock = asyncio.Lock()  # one job at a time on this image

    def check_fenced(self) -> None:
        """Fenced if this connection is blocklisted; only inside executor jobs. Once it is, the
        image's writes in flight never return, and close() no longer waits for them."""
        self._cluster.check_fenced()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            if self._image is None:
                raise Unavailable(f"{self._what}: the image was closed")
            return await self._cluster.call(fn, self._image, *args, what=self._what)

    async def close(self) -> None:
        """Closes the image, even if the calling task is being cancelled.

        librbd's close flushes writes still in flight first. An explicit flush() is not used:
        on an exclusive-lock image it waits for the lock, forever if an advisory lock is held.
        """
        if self._image is None:
            return
        image, self._image = self._image, None

        async def closing() -> None:
            async with self._lock:  # after the job running now, never beside it
                await self._cluster.call(image.close, what=f"close {self._what}")
        fut = asyncio.ensure_future(closing())
        fut.add_done_callback(_consume)
        # Shielded: a cancelled caller must not leave the image open (and locked) behind it.
        # Bounded: librbd's close can wait without end on a cluster whose OSD went away
        # mid-write; the caller goes on and the close finishes (or not) in the background.
        # A fenced connection's close waits for writes that never end: do not wait long.
        grace = CLOSE_GRACE if self._cluster.fenced else self._cluster.timeouts.stall
        done, _ = await asyncio.wait({fut}, timeout=grace)
        if not done:
            log.warning("%s: the image did not close in %g s; left open", self._what, grace)
        elif not fut.cancelled() and fut.exception() is not None:
            raise fut.exception()  # type: ignore[misc]
