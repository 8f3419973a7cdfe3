"""Backend kinds by name, and opening the clusters a configuration names.

Clusters open in the background, each on its own: a cluster whose mon does not answer keeps
retrying while the others (and everything that needs no cluster) serve. Until a cluster is
open its backend answers Unavailable, so only what lives there is unavailable. Whatever must
happen once a cluster is reachable (recovery of interrupted work) is registered with
`on_open` and runs right after it opens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..config import LocalClusterSettings, RbdClusterSettings, Settings
from .base import BaseBackend

log = logging.getLogger("cowcloud.storage")

RETRY_SECONDS = 2.0  # between attempts to open a cluster that did not answer


def make_backend(settings: Settings, cluster: str) -> BaseBackend:
    """An unopened backend for one configured cluster; imports rbd only when a cluster needs it."""
    spec = settings.clusters[cluster]
    if isinstance(spec, RbdClusterSettings):
        from .rbd.backend import RbdBackend  # python3-rbd is only needed where Ceph is used
        from .rbd.timeouts import Timeouts
        timeouts = Timeouts(osd_op=spec.rados_osd_op_timeout, mon_op=spec.rados_mon_op_timeout,
                            mount=spec.client_mount_timeout, stall=spec.stall_timeout)
        return RbdBackend(cluster, conf=spec.conf, user=spec.user, keyring=spec.keyring,
                          io_threads=spec.io_threads, timeouts=timeouts)
    if isinstance(spec, LocalClusterSettings):
        from .local.backend import LocalBackend
        return LocalBackend(cluster, path=settings.cluster_path(cluster))
    raise ValueError(f"unknown cluster kind for {cluster!r}")


OnOpen = Callable[[str, BaseBackend], Awaitable[None]]


class Clusters:
    """Every configured cluster's backend, opened once for the life of the process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backends: dict[str, BaseBackend] = {}
        self._open: set[str] = set()  # opened, and their on_open steps done
        self._openers: dict[str, asyncio.Task[None]] = {}
        self._on_open: list[OnOpen] = []

    def on_open(self, step: OnOpen) -> None:
        """step(name, backend) runs each time a cluster has opened (before it counts as open);
        a step that fails is logged and does not keep the cluster closed."""
        self._on_open.append(step)

    async def open(self, wait: float | None = None) -> None:
        """Starts opening every cluster in the background; waits until all are open, at most
        `wait` seconds (None: until all are open, failing on the first error, as before)."""
        if wait is None:
            try:
                for name in self.settings.clusters:
                    await self._open_once(name)
            except BaseException:
                await self.close()
                raise
            return
        for name in self.settings.clusters:
            self._backends.setdefault(name, make_backend(self.settings, name))
            if name not in self._open and name not in self._openers:
                self._openers[name] = asyncio.create_task(self._keep_opening(name),
                                                          name=f"open-cluster-{name}")
        pending = list(self._openers.values())
        if pending and wait > 0:
            await asyncio.wait(pending, timeout=wait)

    async def _open_once(self, name: str) -> None:
        backend = self._backends.setdefault(name, make_backend(self.settings, name))
        await backend.open()
        for step in self._on_open:
            try:
                await step(name, backend)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("work after opening a cluster failed", extra={"cluster": name})
        self._open.add(name)

    async def _keep_opening(self, name: str) -> None:
        attempt = 0
        try:
            while True:
                try:
                    await self._open_once(name)
                    if attempt:
                        log.warning("cluster open after %d failed attempts", attempt,
                                    extra={"cluster": name})
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    attempt += 1
                    if attempt == 1:
                        log.warning("cluster does not answer; its stores are unavailable "
                                    "until it does: %s", exc, extra={"cluster": name})
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            self._openers.pop(name, None)

    def is_open(self, name: str) -> bool:
        return name in self._open

    async def close(self) -> None:
        openers = list(self._openers.values())
        for task in openers:
            task.cancel()
        if openers:
            await asyncio.gather(*openers, return_exceptions=True)
        backends, self._backends = self._backends, {}
        self._open.clear()
        for backend in backends.values():
            await backend.close()

    def __getitem__(self, name: str) -> BaseBackend:
        backend = self._backends.get(name)
        if backend is None:
            if name not in self.settings.clusters:
                raise KeyError(name)
            # Known but not yet opening (a caller before open()): an unopened backend that
            # answers Unavailable, like one whose cluster is away.
            backend = self._backends[name] = make_backend(self.settings, name)
        return backend

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._backends.items())
