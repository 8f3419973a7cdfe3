"""createImage (`openstack server image create`): a server's root disk becomes an image.

As os-volume_upload_image does with a volume (services/volumes/upload.py, and the same image
service entry, images/from_device.py): a protected snapshot `image-<image id>` of the root
disk `<server id>_disk`, then the image's data in the image store of the disk's cluster (a COW
clone of the snapshot, flattened: on rbd the copy runs inside Ceph, no byte passes through the
API process or the agent's host), else a store of the server's site, else the default store
(extents streamed). The snapshot goes at the end; a failure deletes the image.

The image carries Nova's snapshot properties (image_type=snapshot, instance_uuid,
base_image_ref, user_id; not Nova's owner_project_name/owner_user_name), inherits the base
image's own properties (all but those describing the base's data, NOT_INHERITED), and takes
min_disk from the flavor and min_ram from the base image, as Nova does.

The snapshot is taken under a running guest, as Nova's rbd direct_snapshot does without a
guest agent to quiesce: crash-consistent. The control plane must reach the disk's cluster
(every rbd cluster it is configured with; a local root disk only on the API's own machine):
a local disk on another machine's agent is refused (Nova would have that compute host upload
the bytes; not built here).

A server booted from a volume has no root disk of its own: as Nova's snapshot_volume_backed,
its root volume gets a volume snapshot (forced: the volume is in use; crash-consistent, no
quiesce) named "snapshot for <image name>", and the image holds no data (size 0, active)
but the properties bdm_v2=True, root_device_name=/dev/vda and block_device_mapping (JSON: the
snapshot to a volume, boot index 0), which Nova boots from. Booting from such an image is
not built here (a server is booted from the volume snapshot's volume instead).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Server
from ...storage import BaseBackend, DeviceRef, NotFound, SnapRef
from ...tasks import Control, TaskRecord
from ..context import RequestContext
from . import checks, servers
from .env import Env
from .errors import BadRequest, ComputeConflict

log = logging.getLogger("cowcloud.compute")

SNAPSHOT_KIND = "server_snapshot"
IMAGE_ID_IN_BODY = (2, 45)
TASK_STATE = "image_uploading"
# base-image properties Nova never carries into a snapshot (they describe the base's data)
NOT_INHERITED = {"stores", "os_hash_algo", "os_hash_value", "direct_url", "locations",
                 "image_type", "instance_uuid", "base_image_ref", "os_glance_importing_to_stores",
                 "os_glance_failed_import", "image_location", "image_state",
                 "owner_specified.openstack.md5", "owner_specified.openstack.sha256",
                 "owner_specified.openstack.object"}


def parse(arg: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(arg, dict):
        raise BadRequest("Invalid input for field/attribute createImage.")
    unknown = sorted(set(arg) - {"name", "metadata"})
    if unknown:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unknown)} were unexpected)")
    name = checks.name(arg.get("name"), "name")
    meta = checks.string_map(arg.get("metadata") or {}, "metadata")
    return name, {k: v for k, v in meta.items() if v is not None}


def begin(s: Session, ctx: RequestContext, server_id: str) -> dict[str, Any]:
    """Checks the server; marks it image_uploading; what the image and the task need."""
    server = servers.load(s, ctx, server_id, "compute:servers:action")
    if server.vm_state not in ("active", "stopped") or server.task_state:
        raise ComputeConflict(f"Cannot 'createImage' instance {server.id} while it is in "
                              f"vm_state {server.vm_state}")
    if server.backend is None or server.cluster_id is None or server.pool is None:
        from .bdm import root_of
        root = root_of(s, server.id)
        if root is None or root.status != "attached":
            raise ComputeConflict(f"Instance {server.id} has no root disk ready to "
                                  "snapshot.")
        return {"server_id": server.id, "volume_id": root.volume_id,
                "volume_size": None, "delete_on_termination": root.delete_on_termination,
                "image_id": None, "min_disk": int(server.flavor.get("disk") or 0),
                "user_id": server.user_id}
    server.task_state = TASK_STATE
    return {"server_id": server.id, "cluster_id": server.cluster_id, "pool": server.pool,
            "zone": server.availability_zone, "image_id": server.image_id,
            "min_disk": int(server.flavor.get("disk") or 0),
            "project_id": server.project_id, "user_id": server.user_id}


def end(s: Session, server_id: str) -> None:
    server = s.get(Server, server_id)
    if server is not None and server.task_state == TASK_STATE:
        server.task_state = None


def target_store(env: Env, cluster: str, zone: str | None) -> str:
    """The store in the disk's cluster, else one of the server's site, else the default."""
    images = env.images
    here = images.store_in_cluster(cluster)
    if here is not None:
        return here
    settings = env.settings
    for name in images.store_names():
        store = settings.image_stores.get(name)
        if store is not None and zone and getattr(
                settings.clusters.get(store.cluster), "site", None) == zone:
            return name
    return str(images.stores.default.name)


async def _drop_snapshot(backend: BaseBackend, snap: SnapRef) -> None:
    with contextlib.suppress(NotFound):
        for info in await backend.snapshots(snap.device):
            if info.ref == snap:
                if info.protected:
                    await backend.unprotect(snap)
                await backend.remove_snapshot(snap)


class SnapshotServer:
    """The durable task: snapshot, land in the store, drop the snapshot, clear task_state."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def _refs(self, inp: dict[str, Any]) -> tuple[BaseBackend, SnapRef]:
        backend = self.env.backend(inp["cluster"])
        dev = DeviceRef(inp["pool"], f"{inp['server_id']}_disk")
        return backend, SnapRef(dev, f"image-{inp['image_id']}")

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input
        backend, snap = self._refs(inp)
        await _drop_snapshot(backend, snap)  # an interrupted run's
        try:
            await backend.snapshot(snap.device, snap.name)
            await backend.protect(snap)
            await self.env.images.fill_from_device(inp["image_id"], inp["store"], backend,
                                                   snap.device, snap, task.id)
        finally:
            await _drop_snapshot(backend, snap)
        await self.env.run(end, inp["server_id"])
        return {"image_id": inp["image_id"], "store": inp["store"]}

    async def failed(self, task: TaskRecord, message: str) -> None:
        inp = task.input
        log.warning("server %s: snapshot to image %s failed: %s", inp["server_id"],
                    inp["image_id"], message)
        try:
            with contextlib.suppress(Exception):  # the cluster away: the snapshot stays
                await _drop_snapshot(*self._refs(inp))
            with contextlib.suppress(NotFound):
                await self.env.images.discard(inp["image_id"])
        finally:
            await self.env.run(end, inp["server_id"])


async def create_image(env: Env, volumes: Any, ctx: RequestContext, server_id: str,
                       arg: Any) -> str:
    """Checks, creates the image (queued, the caller's) and queues the task; the image id."""
    name, meta = parse(arg)
    row = await env.run(begin, ctx, server_id)
    if "volume_id" in row:
        return await _volume_backed(env, volumes, ctx, row, name, meta)
    try:
        cluster = env.cluster_named(row["cluster_id"])
        if cluster is None:
            raise ComputeConflict(f"The root disk of instance {server_id} is on storage this "
                                  "control plane does not reach (a local disk of another "
                                  "machine): its image cannot be made here.")
        props: dict[str, Any] = {}
        min_ram = 0
        if row["image_id"]:
            with contextlib.suppress(Exception):  # the base image deleted since: no heritage
                base = await env.images.get(ctx, row["image_id"])
                min_ram = int(base.get("min_ram") or 0)
                props = {k: v for k, v in base.items() if k not in _IMAGE_FIELDS
                         and k not in NOT_INHERITED and isinstance(v, str)}
        props.update(meta)
        props.update({"image_type": "snapshot", "instance_uuid": server_id,
                      "base_image_ref": row["image_id"] or "", "user_id": row["user_id"]})
        body = {"name": name, "disk_format": "raw", "container_format": "bare",
                "min_disk": row["min_disk"], "min_ram": min_ram, **props}
        image = await env.images.create(ctx, body)
    except BaseException:
        await env.run(end, server_id)
        raise
    store = target_store(env, cluster, row["zone"])

    def queue(s: Session) -> None:
        env.tasks.add(s, SNAPSHOT_KIND, resource_id=server_id, owner=ctx.project_id,
                      input={**row, "cluster": cluster, "store": store,
                             "image_id": image["id"]})
    try:
        await env.run(queue)
    except BaseException:
        await env.images.discard(image["id"])
        await env.run(end, server_id)
        raise
    env.tasks.wake()
    return str(image["id"])


# Glance's own fields of an image (not properties)
_IMAGE_FIELDS = {"id", "name", "status", "visibility", "protected", "checksum", "owner",
                 "size", "virtual_size", "min_ram", "min_disk", "disk_format",
                 "container_format", "created_at", "updated_at", "tags", "self", "file",
                 "schema", "os_hidden"}


async def _volume_backed(env: Env, volumes: Any, ctx: RequestContext, row: dict[str, Any],
                         name: str, meta: dict[str, str]) -> str:
    """Nova's snapshot of a volume-backed server: a volume snapshot and an image that names
    it in block_device_mapping, with no data of its own."""
    if volumes is None:
        raise ComputeConflict("This process runs no volume service.")
    snap = await volumes.create_snapshot(ctx, {"snapshot": {
        "volume_id": row["volume_id"], "force": True, "name": f"snapshot for {name}"}},
        (3, 0))
    snap = snap.get("snapshot", snap)
    mapping = [{"boot_index": 0, "source_type": "snapshot", "destination_type": "volume",
                "snapshot_id": snap["id"], "volume_size": snap.get("size"),
                "device_name": "/dev/vda", "delete_on_termination":
                    row["delete_on_termination"], "disk_bus": "virtio",
                "guest_format": None, "volume_type": None, "tag": None,
                "no_device": None, "image_id": None, "volume_id": None}]
    body = {"name": name, "disk_format": "raw", "container_format": "bare",
            "min_disk": row["min_disk"], **meta, "image_type": "snapshot",
            "instance_uuid": row["server_id"], "user_id": row["user_id"],
            "bdm_v2": "True", "root_device_name": "/dev/vda",
            "block_device_mapping": json.dumps(mapping)}
    image = None
    try:
        image = await env.images.create(ctx, body)
        await env.images.upload(ctx, image["id"], _nothing(), store=None, size=0)
    except BaseException:
        if image is not None:
            await env.images.discard(image["id"])
        await volumes.delete_snapshot(ctx, snap["id"])
        raise
    return str(image["id"])


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
