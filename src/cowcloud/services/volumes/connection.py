"""connection_info: what a hypervisor needs to open a volume, shaped as Cinder's drivers give it.

rbd (Cinder's RBD driver, what Nova's libvirt rbd volume driver reads):
    {"driver_volume_type": "rbd", "data": {"name": "POOL/volume-ID", "hosts": [...],
     "ports": [...], "cluster_name": "ceph", "auth_enabled": true, "auth_username": USER,
     "secret_type": "ceph", "secret_uuid": UUID, "volume_id": ID, "discard": true, ...}}
  The monitors come from the cluster's mon map. `secret_uuid` names the libvirt secret that
  holds the cephx key of `auth_username` on every compute host: the cluster's
  `secret_uuid` setting when configured, otherwise the cluster's fsid (Cinder's own default
  since Zed), so it is stable per cluster and the same for every volume in it.

local (the embedded qcow2 store; no Cinder driver has this shape):
    {"driver_volume_type": "local", "data": {"device_path": PATH, "format": "qcow2",
     "volume_id": ID, "discard": true, ...}}
  PATH is the volume's active qcow2 layer on this machine (its backing chain sits beside it,
  named relative to it); a guest's qemu opens it as a qcow2 file with its backing chain. Only
  a hypervisor on the host that holds the data folder can use it.

Both add what Cinder's volume manager adds to every driver's answer: access_mode (rw, or ro
for a read-only attachment), encrypted (false), qos_specs (none), cacheable (false).
"""

from __future__ import annotations

from typing import Any

from ...config import RbdClusterSettings
from .env import Env, volume_device


async def build(env: Env, cluster: str, pool: str, volume_id: str, mode: str) -> dict[str, Any]:
    """{"driver_volume_type": ..., "data": {...}} for the volume's device."""
    spec = await env.backend(cluster).attach_spec(volume_device(pool, volume_id))
    common = {"volume_id": volume_id, "discard": True, "access_mode": mode,
              "encrypted": False, "qos_specs": None, "cacheable": False}
    if spec["kind"] == "rbd":
        settings = env.settings.clusters.get(cluster)
        configured = (settings.secret_uuid if isinstance(settings, RbdClusterSettings)
                      else None)
        secret = str(configured) if configured else spec["fsid"]
        return {"driver_volume_type": "rbd", "data": {
            "name": f"{spec['pool']}/{spec['name']}", "hosts": spec["hosts"],
            "ports": spec["ports"], "cluster_name": spec["cluster_name"],
            "auth_enabled": spec["auth_enabled"], "auth_username": spec["user"],
            "secret_type": "ceph", "secret_uuid": secret, **common}}
    return {"driver_volume_type": "local", "data": {
        "device_path": spec["path"], "format": spec["format"], **common}}


def flat(info: dict[str, Any], attachment_id: str, connector: dict[str, Any]
         ) -> dict[str, Any]:
    """The attachments API's form (Cinder's _connection_create): data's keys lifted to the
    top beside driver_volume_type, with the attachment's id."""
    out = dict(info.get("data") or {})
    out.update({k: v for k, v in info.items() if k != "data"})
    out["attachment_id"] = attachment_id
    out["enforce_multipath"] = bool(connector.get("enforce_multipath", False))
    return out
