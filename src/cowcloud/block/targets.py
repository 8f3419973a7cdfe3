"""Named pool targets: image stores, volume backends, ephemeral backends and backup targets.

Each is a (cluster, pool) with a name in one of the configuration's four sections. Resolving one
gives the opened backend, the pool and the site (availability zone) it lives in, so a domain
service never reads cluster settings itself and never asks a backend's kind: what a target can
do is in `backend.info`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Settings
from ..errors import NotFound
from ..storage import BaseBackend, DeviceRef
from ..storage.registry import Clusters

SECTIONS = ("image_stores", "volume_backends", "ephemeral_backends", "backup_targets")


class UnknownTarget(NotFound):
    """No target of that name in that section."""


@dataclass(frozen=True)
class Target:
    section: str  # one of SECTIONS
    name: str
    kind: str  # the cluster's configured kind ("rbd", "local"): known before it opens
    cluster: str
    pool: str
    site: str
    description: str
    default: bool
    weight: int
    clusters: Clusters = field(repr=False, compare=False)

    @property
    def backend(self) -> BaseBackend:
        """The cluster's opened backend (clusters open after the targets are resolved)."""
        return self.clusters[self.cluster]

    @property
    def cluster_id(self) -> str:
        return self.backend.info.cluster_id

    def device(self, name: str) -> DeviceRef:
        return DeviceRef(self.pool, name)


class Targets:
    """Every configured target of the four sections, over the process's clusters."""

    def __init__(self, settings: Settings, clusters: Clusters) -> None:
        self._by_section: dict[str, dict[str, Target]] = {}
        for section in SECTIONS:
            default = settings.default_of(section)
            found: dict[str, Target] = {}
            for name, spec in getattr(settings, section).items():
                found[name] = Target(
                    section=section, name=name, kind=settings.clusters[spec.cluster].kind,
                    cluster=spec.cluster, pool=spec.pool,
                    site=settings.clusters[spec.cluster].site, description=spec.description,
                    default=(name == default), weight=spec.weight, clusters=clusters)
            self._by_section[section] = found
        self._clusters = clusters

    def of(self, section: str) -> dict[str, Target]:
        """The section's targets by name, in configuration order."""
        return self._by_section[section]

    def get(self, section: str, name: str) -> Target:
        try:
            return self._by_section[section][name]
        except KeyError:
            raise UnknownTarget(f"{section}.{name}") from None

    def default(self, section: str) -> Target | None:
        return next((t for t in self._by_section[section].values() if t.default), None)

    def backend(self, cluster: str) -> BaseBackend:
        """A cluster's backend by its configured name (what location records keep)."""
        return self._clusters[cluster]
