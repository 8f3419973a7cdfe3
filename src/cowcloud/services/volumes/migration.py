"""Retype (`os-retype`) and migration (`os-migrate_volume`) of a volume to another backend.

Hosts. A volume backend `NAME` (a [volume_backends.NAME] section) on pool `POOL` is the
Cinder host `cowcloud@NAME#POOL`, which `os-vol-host-attr:host` shows and `os-migrate_volume`
takes (`cowcloud@NAME` alone also names it). `cowcloud` plays the part of Cinder's
cinder-volume hostname: one name for the whole deployment, since every API process reaches
every cluster.

Moving. The volume keeps its id and its device name: `volume-<id>` is copied into the target
pool (block.devices.transfer: inside one cluster a clone of a temporary protected snapshot
`migration` on the source, then flattened; across clusters, rbd to local and back, its data
extents stream, holes skipped), the row is switched to the target in one transaction, and the
source device is removed (its parents collected as for a deleted volume). One durable task does
it: killed before the switch, it is run again, removes the half-written target and copies
again; killed after, it only removes the source.

While it moves, the volume is `maintenance` (migration) or `retyping` (retype), so nothing
snapshots, extends, clones or deletes it; as with Cinder, a volume with snapshots cannot move
(400), and here neither can one that other volumes' clones still read through.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...block import devices
from ...block.targets import Target
from ...db.models import Task, Volume, VolumeSnapshot, VolumeType
from ...storage import BaseBackend, DeviceRef, SnapRef, can_clone
from ...storage.errors import Busy, NotFound
from ...tasks import Control, Retry, TaskRecord
from ..context import RequestContext
from ..policy import enforce
from . import checks, graph, types
from .access import load_volume
from .env import Env, volume_device
from .errors import InvalidHost, InvalidInput, InvalidVolume, VolumeTypeNotFound
from .volumes import building_from

log = logging.getLogger("cowcloud.volumes")

KIND = "volume_migrate"
HOST = "cowcloud"
SNAP = "migration"  # the source's temporary snapshot for a clone+flatten inside a cluster
POLICIES = ("never", "on-demand")


def host_of(backend: str, pool: str) -> str:
    return f"{HOST}@{backend}#{pool}"


def parse_host(env: Env, host: Any) -> Target:
    if not isinstance(host, str) or not host:
        raise InvalidInput("'host' is a required property")
    name, _, pool = host.partition("#")
    service, at, backend = name.partition("@")
    target = env.targets.of("volume_backends").get(backend) if at and service == HOST else None
    if target is None or (pool and pool != target.pool):
        raise InvalidHost(f"No available service named {host}")
    return target


# ------------------------------------------------------------------ the API's part

class ActionCall(Protocol):
    """What a volume action handler is given (calls.Call where the action table exists)."""

    ctx: RequestContext
    volume_id: str
    arg: Any


async def migrate_volume(env: Env, call: ActionCall) -> None:
    """os-migrate_volume {host, force_host_copy, lock_volume} (admin)."""
    arg = _object(call.arg, "os-migrate_volume")
    enforce(call.ctx, "volume_extension:volume_admin_actions:migrate_volume")
    if arg.get("cluster") is not None and arg.get("host") is None:
        raise InvalidInput(f"Clusters are not used here: give 'host' ({host_of('NAME', 'POOL')})")
    target = parse_host(env, arg.get("host"))
    for flag in ("force_host_copy", "lock_volume"):
        checks.boolean(arg.get(flag, False), flag)  # every move is a host copy, and locked
    await _start(env, await env.run(_begin, env, call.ctx, call.volume_id, target, None))


async def retype(env: Env, call: ActionCall) -> None:
    """os-retype {new_type, migration_policy never|on-demand}."""
    arg = _object(call.arg, "os-retype")
    new_type = arg.get("new_type")
    if not isinstance(new_type, str) or not new_type:
        raise InvalidInput("'new_type' is a required property")
    policy = arg.get("migration_policy", "never")
    if policy not in POLICIES:
        raise InvalidInput(f"migration_policy must be 'on-demand' or 'never', passed: {policy}")
    await _start(env, await env.run(_begin_retype, env, call.ctx, call.volume_id, new_type,
                                    policy))


# the volume action table's entries (actions.ACTIONS takes them as they are)
ACTIONS = {"os-retype": retype, "os-migrate_volume": migrate_volume}


def _object(arg: Any, name: str) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise InvalidInput(f"{name} takes an object")
    return arg


async def _start(env: Env, moving: dict[str, Any] | None) -> None:
    if moving is None:
        return  # nothing to move (a retype within the backend)
    try:
        await _no_clones(env, moving)
    except BaseException:
        await env.run(_abandon, moving["volume_id"])
        raise
    await env.run(_queue, env, moving)
    env.tasks.wake()


def _begin_retype(s: Session, env: Env, ctx: RequestContext, volume_id: str, new_type: str,
                  policy: str) -> dict[str, Any] | None:
    vol = load_volume(s, ctx, volume_id, "volume:retype")
    vtype = types.find(s, new_type)
    if not types.can_use(s, ctx, vtype):  # another project's private type does not exist
        raise VolumeTypeNotFound(new_type)
    if vol.status != "available":
        raise InvalidVolume(f"Unable to update type due to incorrect status: {vol.status} on "
                            f"volume: {vol.id}. Volume status must be available.")
    if vtype.id == vol.volume_type_id:
        raise InvalidInput(f"New volume_type same as original: {new_type}.")
    target = types.backend_of(env, vtype)
    if target.name == vol.backend:  # same backend: the type alone changes
        _check_idle(vol)
        vol.volume_type_id = vtype.id
        return None
    if policy == "never":
        raise InvalidInput(f"Volume type {vtype.name} is on backend {target.name} and volume "
                           f"{vol.id} on {vol.backend}: the retype needs a migration, and "
                           "migration_policy is 'never'")
    return _begin(s, env, ctx, volume_id, target, vtype.id, vol=vol)


def _check_idle(vol: Volume) -> None:
    if vol.migration_status in ("starting", "migrating"):
        raise InvalidVolume(f"Volume {vol.id} is already part of an active migration.")


def _begin(s: Session, env: Env, ctx: RequestContext, volume_id: str, target: Target,
           new_type_id: str | None, vol: Volume | None = None) -> dict[str, Any]:
    """Checks and marks the volume; the task is queued once the devices are checked too."""
    if vol is None:
        vol = load_volume(s, ctx, volume_id, "volume:get")
    _check_idle(vol)
    if vol.status != "available":
        raise InvalidVolume(f"Volume {vol.id} status must be available, but current status "
                            f"is: {vol.status}. (An attached volume moves only with its "
                            "compute host swapping it, which is not built.)")
    if target.name == vol.backend:
        raise InvalidHost("Destination host must be different than the current host.")
    snaps = s.scalars(select(VolumeSnapshot.id).where(VolumeSnapshot.volume_id == vol.id,
                                                      VolumeSnapshot.deleted.is_(False)))
    if snaps.first() is not None:
        raise InvalidVolume(f"Volume {vol.id} must not have snapshots.")
    if building_from(s, source_volid=vol.id):
        raise InvalidVolume(f"Volume {vol.id} is the source of a volume being created.")
    vol.status = "retyping" if new_type_id else "maintenance"
    vol.migration_status = "starting"
    return {"volume_id": vol.id, "new_type_id": new_type_id, "src": {
        "backend": vol.backend, "cluster": vol.cluster, "pool": vol.pool,
        "site": vol.availability_zone}, "dst": {
        "backend": target.name, "cluster": target.cluster, "pool": target.pool,
        "site": target.site}}


async def _no_clones(env: Env, moving: dict[str, Any]) -> None:
    """Volumes cloned from this one (same cluster) read through its device: it cannot go."""
    src = moving["src"]
    backend = env.backend(src["cluster"])
    dev = volume_device(src["pool"], moving["volume_id"])
    readers: list[str] = []
    for snap in await backend.snapshots(dev):
        readers += [c.name for c in await backend.children(snap.ref)]
    if readers:
        raise InvalidVolume(f"Volume {moving['volume_id']} has clones reading through it "
                            f"({', '.join(sorted(readers))}); it can move once they are "
                            "deleted or flattened.")


def _abandon(s: Session, volume_id: str) -> None:
    vol = s.get(Volume, volume_id)
    if vol is not None and vol.migration_status == "starting":
        vol.status, vol.migration_status = "available", None


def _queue(s: Session, env: Env, moving: dict[str, Any]) -> None:
    vol = s.get(Volume, moving["volume_id"])
    assert vol is not None
    vol.migration_status = "migrating"
    env.tasks.add(s, KIND, resource_id=vol.id, owner=vol.project_id, input=moving)


# ------------------------------------------------------------------ the task

def _placed(s: Session, volume_id: str) -> tuple[str, str] | None:
    vol = s.get(Volume, volume_id)
    return (vol.cluster, vol.pool) if vol is not None else None


def _switch(s: Session, inp: dict[str, Any]) -> None:
    vol = s.get(Volume, inp["volume_id"])
    if vol is None:
        return
    dst = inp["dst"]
    vol.backend, vol.cluster, vol.pool = dst["backend"], dst["cluster"], dst["pool"]
    vol.availability_zone = dst["site"]
    if inp.get("new_type_id") and s.get(VolumeType, inp["new_type_id"]) is not None:
        vol.volume_type_id = inp["new_type_id"]
    vol.status, vol.migration_status = "available", "success"


def _failed(s: Session, volume_id: str, message: str) -> None:
    vol = s.get(Volume, volume_id)
    if vol is not None and vol.migration_status in ("starting", "migrating"):
        vol.status, vol.migration_status, vol.message = "available", "error", message


async def _drop_snap(backend: BaseBackend, dev: DeviceRef) -> None:
    snap = SnapRef(dev, SNAP)
    try:
        for info in await backend.snapshots(dev):
            if info.ref == snap:
                if info.protected:
                    await backend.unprotect(snap)
                await backend.remove_snapshot(snap)
    except NotFound:
        pass


async def _clear_target(backend: BaseBackend, dev: DeviceRef) -> None:
    """An interrupted run's half-written target: no one but this task ever wrote it."""
    try:
        await devices.remove(backend, dev, fence=True)
    except Busy as exc:
        raise Retry(5, f"waiting for a dead writer's hold on {dev} to expire: {exc}") from None


class Migrate:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp, env = task.input, self.env
        vid, src, dst = inp["volume_id"], inp["src"], inp["dst"]
        src_b, dst_b = env.backend(src["cluster"]), env.backend(dst["cluster"])
        src_dev, dst_dev = volume_device(src["pool"], vid), volume_device(dst["pool"], vid)
        if await env.run(_placed, vid) != (dst["cluster"], dst["pool"]):
            await _clear_target(dst_b, dst_dev)
            await _drop_snap(src_b, src_dev)
            snap = None
            if can_clone(src_b, dst_b):
                snap = await src_b.snapshot(src_dev, SNAP)
                await src_b.protect(snap)
            await devices.transfer(src_b, src_dev, dst_b, dst_dev, src_snap=snap, sealed=False)
            await _drop_snap(src_b, src_dev)
            await env.run(_switch, inp)
        # The source goes as a deleted volume's device would: its parents (an image's snap,
        # another volume's clone snapshot) are collected when it was their last child.
        held = await graph.drop_volume(env, src["cluster"], src_dev)
        if held:
            log.warning("volume %s: the migrated source %s is still read by clones", vid,
                        src_dev)
        return {"from": host_of(src["backend"], src["pool"]),
                "to": host_of(dst["backend"], dst["pool"])}

    async def failed(self, task: TaskRecord, message: str) -> None:
        inp, env = task.input, self.env
        vid, src, dst = inp["volume_id"], inp["src"], inp["dst"]
        if await env.run(_placed, vid) == (dst["cluster"], dst["pool"]):
            log.warning("volume %s moved, but its source device was not removed: %s", vid,
                        message)
            return
        try:
            await _clear_target(env.backend(dst["cluster"]), volume_device(dst["pool"], vid))
            await _drop_snap(env.backend(src["cluster"]), volume_device(src["pool"], vid))
        except Exception:
            log.warning("volume %s: the failed migration's target left", vid, exc_info=True)
        await env.run(_failed, vid, message)


# ------------------------------------------------------------------ start-up sweep

def _stranded(s: Session) -> None:
    """A crash between marking a volume and queueing its task leaves it `starting`, with no
    task: it never moved, so it is available again."""
    for vol in s.scalars(select(Volume).where(Volume.migration_status == "starting")):
        queued = s.scalar(select(Task.id).where(Task.kind == KIND, Task.resource_id == vol.id,
                                                Task.status.in_(("pending", "processing"))))
        if queued is None:
            vol.status, vol.migration_status = "available", None


async def sweep(env: Env) -> None:
    await env.run(_stranded)
