"""How a hypervisor reaches an RBD device: the monitors and the identity it connects with.

The monitors come from the cluster's own mon map (`mon dump`), as Cinder's RBD driver reads
them for Nova: each mon's legacy (v1) address, split into host and port. A client that gets
v1 addresses speaks msgr v1 to them, which works whether or not msgr2 is bound as well.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import check_name
from ..contract import DeviceRef
from ..errors import NotFound
from .cluster import RbdCluster


def _split(addr: str) -> tuple[str, str]:
    """'127.0.0.1:6789/0' or '[::1]:6789/0' -> (host, port)."""
    host_port = addr.rsplit("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return host.strip("[]"), port


def _v1_addr(mon: dict[str, Any]) -> str | None:
    for a in (mon.get("public_addrs") or {}).get("addrvec") or []:
        if a.get("type") == "v1":
            return str(a["addr"])
    return mon.get("addr") or None


class AttachOps:
    cluster: RbdCluster
    user: str

    async def attach_spec(self, dev: DeviceRef) -> dict[str, Any]:
        check_name("pool", dev.pool)
        check_name("device", dev.name)
        if not await self.exists(dev):  # type: ignore[attr-defined]
            raise NotFound(f"device {dev} does not exist")
        cluster = self.cluster
        monmap = json.loads(await cluster.mon_command({"prefix": "mon dump", "format": "json"},
                                                      what="mon dump"))
        hosts, ports = [], []
        for mon in monmap.get("mons", []):
            addr = _v1_addr(mon)
            if addr:
                host, port = _split(addr)
                hosts.append(host)
                ports.append(port)

        def conf() -> tuple[str, str]:
            return (cluster.rados.conf_get("cluster") or "ceph",
                    cluster.rados.conf_get("auth_client_required") or "cephx")
        name, auth = await cluster.call(conf, what="read client configuration")
        return {"kind": "rbd", "pool": dev.pool, "name": dev.name, "hosts": hosts,
                "ports": ports, "user": self.user, "cluster_name": name,
                "auth_enabled": auth.strip() != "none", "fsid": cluster.fsid}
