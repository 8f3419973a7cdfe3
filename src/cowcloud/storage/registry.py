"""Backend kinds by name, and opening the clusters a configuration names."""

from __future__ import annotations

from ..config import LocalClusterSettings, RbdClusterSettings, Settings
from .base import BaseBackend


def make_backend(settings: Settings, cluster: str) -> BaseBackend:
    """An unopened backend for one configured cluster; imports rbd only when a cluster needs it."""
    spec = settings.clusters[cluster]
    if isinstance(spec, RbdClusterSettings):
        from .rbd.backend import RbdBackend  # python3-rbd is only needed where Ceph is used
        return RbdBackend(cluster, conf=spec.conf, user=spec.user, keyring=spec.keyring,
                          io_threads=spec.io_threads)
    if isinstance(spec, LocalClusterSettings):
        from .local.backend import LocalBackend
        return LocalBackend(cluster, path=settings.cluster_path(cluster))
    raise ValueError(f"unknown cluster kind for {cluster!r}")


class Clusters:
    """Every configured cluster's backend, opened once for the life of the process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backends: dict[str, BaseBackend] = {}

    async def open(self) -> None:
        try:
            for name in self.settings.clusters:
                backend = make_backend(self.settings, name)
                await backend.open()
                self._backends[name] = backend
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        backends, self._backends = self._backends, {}
        for backend in backends.values():
            await backend.close()

    def __getitem__(self, name: str) -> BaseBackend:
        return self._backends[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._backends.items())
