"""A pool's capacity as `ceph df detail` reports it, and what its devices are provisioned to.

MAX AVAIL is the mgr's figure: the free space of the OSDs the pool's CRUSH rule reaches, less
the full-ratio headroom, divided by the replication (or EC) overhead, so it is in the same
logical bytes as STORED. The mon only relays the mgr's digest: on a cluster without a running
ceph-mgr the pool is missing from `df`, and pool_usage says so rather than report zero.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import check_name
from ..contract import DeviceRef, PoolUsage
from ..errors import NotFound, Unavailable
from ._errors import map_rbd_errors
from .cluster import Ioctx, RbdCluster


def _provisioned(cluster: RbdCluster, pool: str, ioctx: Ioctx) -> int:
    """Sum of the pool's image sizes; images removed while we count are skipped."""
    total = 0
    for name in cluster.rbd.list(ioctx):
        try:
            with map_rbd_errors(f"size of {pool}/{name}"):
                image = cluster.image(DeviceRef(pool, name), read_only=True)
                try:
                    total += int(image.size())
                finally:
                    image.close()
        except NotFound:
            continue
    return total


def _available(stats: dict[str, Any]) -> int:
    available = int(stats["max_avail"])
    quota = int(stats.get("quota_bytes") or 0)
    if quota:  # `ceph osd pool set-quota POOL max_bytes`: counted in stored bytes
        available = min(available, max(0, quota - int(stats["stored"])))
    return available


class CapacityOps:
    """pool_usage; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def pool_usage(self, pool: str) -> PoolUsage:
        cluster = self.cluster
        check_name("pool", pool)
        provisioned = await cluster.with_ioctx(  # NotFound for a missing pool
            pool, lambda ioctx: _provisioned(cluster, pool, ioctx), what=f"sizes in {pool}")
        out = await cluster.mon_command({"prefix": "df", "detail": "detail", "format": "json"},
                                        what=f"ceph df for pool {pool}")
        found = [p["stats"] for p in json.loads(out).get("pools", []) if p.get("name") == pool]
        if not found:
            raise Unavailable(f"the cluster reports no statistics for pool {pool!r}: they come "
                              "from ceph-mgr, which does not run (or has not reported yet)")
        stats = found[0]
        return PoolUsage(available=_available(stats), used=int(stats["stored"]),
                         provisioned=provisioned)
