"""Image stores: named (cluster, pool) targets, their devices, and their location URLs.

An image's data in a store is the device named by the image id in the store's pool, with a
protected snapshot `snap` (what glance_store rbd leaves, so Nova and Cinder can COW-clone it).
Location URLs:
- rbd stores:   rbd://FSID/POOL/IMAGE/snap          (glance_store's form, each part URL-quoted)
- local stores: local://CLUSTER_ID/POOL/IMAGE/snap  (same shape; CLUSTER_ID is the local cluster's
  own id from BackendInfo, so equal ids mean a COW clone is possible, exactly as for an fsid)
Work devices sit beside the image's device in the same pool and are named after it, so a crash
leaves nothing that cannot be found by name: `ID.stage` (staged data), `ID.convert` (the upload
a conversion reads), `ID.src` (a staged image copied into an rbd cluster to be converted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from ...block.devices import SNAP
from ...block.targets import Targets
from ...storage import BaseBackend, DeviceRef
from ..errors import Unavailable

STAGING_STORE = "os_glance_staging_store"  # the staging area's location row (never shown)
RESERVED_PREFIX = "os_glance_"
CHUNK_SIZE = 8 << 20  # reported as chunk_size in the stores' detail


@dataclass(frozen=True)
class Store:
    name: str
    cluster: str
    pool: str
    description: str
    default: bool
    backend: BaseBackend
    kind: str  # the location scheme: the cluster's configured kind, known before it opens
    weight: int = 0

    @property
    def cluster_id(self) -> str:
        return self.backend.info.cluster_id

    def device(self, image_id: str, suffix: str = "") -> DeviceRef:
        return DeviceRef(self.pool, f"{image_id}{suffix}")

    def url(self, image_id: str, snap: str | None = SNAP) -> str:
        parts = [self.cluster_id, self.pool, image_id] + ([snap] if snap else [])
        return f"{self.kind}://" + "/".join(quote(p, safe="") for p in parts)

    def describe(self, image_id: str, suffix: str = "") -> dict[str, str]:
        """What a location row's meta keeps: enough to find the device even if the config
        changes (recovery and deletion use this, never the URL)."""
        return {"store": self.name, "cluster": self.cluster, "pool": self.pool,
                "device": f"{image_id}{suffix}"}


def parse_location(url: str) -> tuple[str, str, str, str, str | None]:
    """(scheme, cluster id, pool, image, snap) of a location URL; ValueError when malformed."""
    m = re.fullmatch(r"(rbd|local)://([^/]+)/([^/]+)/([^/]+)(?:/([^/]+))?", url)
    if not m:
        raise ValueError(f"not an rbd:// or local:// location: {url!r}")
    scheme, fsid, pool, image, snap = m.groups()
    return scheme, unquote(fsid), unquote(pool), unquote(image), unquote(snap) if snap else None


class Stores:
    """The configured image stores over the opened clusters; built once the clusters are open."""

    def __init__(self, targets: Targets) -> None:
        self._targets = targets
        self._stores: dict[str, Store] = {}
        self._weights: dict[str, int] = {}

    def load(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        for name, target in self._targets.of("image_stores").items():
            if name.startswith(RESERVED_PREFIX):
                raise ValueError(f"image_stores.{name}: the prefix {RESERVED_PREFIX!r} is reserved")
            if (target.cluster, target.pool) in seen:
                # Devices are named by image id: two stores in one pool would share them.
                raise ValueError(f"image_stores.{name}: same cluster and pool as store "
                                 f"{seen[(target.cluster, target.pool)]!r}")
            seen[(target.cluster, target.pool)] = name
            self._stores[name] = Store(
                name=name, cluster=target.cluster, pool=target.pool,
                description=target.description, default=target.default,
                backend=target.backend, kind=target.kind, weight=target.weight)
        self._weights = {name: store.weight for name, store in self._stores.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._stores

    def __getitem__(self, name: str) -> Store:
        return self._stores[name]

    def get(self, name: str) -> Store | None:
        return self._stores.get(name)

    def all(self) -> list[Store]:
        return list(self._stores.values())

    def names(self) -> list[str]:
        return list(self._stores)

    def weights(self) -> Mapping[str, int]:
        """Store name -> weight; built once at load, since every image view orders by it."""
        return self._weights

    @property
    def default(self) -> Store:
        for store in self._stores.values():
            if store.default:
                return store
        raise Unavailable("No image store is configured: image data needs an [image_stores.NAME] "
                          "section in the configuration")

    def backend_of(self, cluster: str) -> BaseBackend:
        return self._targets.backend(cluster)
