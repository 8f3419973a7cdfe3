"""The legacy attach actions on /volumes/{id}/action (before 3.27's attachments API; Nova's
old flow, still what `cinder reserve`, `cinder begin-detaching` and tempest's attach tests use):

    os-reserve            available (or in-use, multiattach) -> attaching
    os-unreserve          attaching -> in-use if attached somewhere, else available
    os-initialize_connection  connection_info for a connector (200), no state change
    os-attach             an attachment (server or host, mountpoint, mode): volume in-use
    os-begin_detaching    in-use and attached -> detaching
    os-roll_detaching     detaching -> in-use
    os-detach             removes the attachment (the only one, or the one named)
    os-terminate_connection  the connection ends: then as os-unreserve
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Volume, VolumeAttachment, utcnow
from . import checks, connection
from .access import load_volume
from .attachments import conditional, detach, of_volume, settle
from .calls import Call, Handler, Reply
from .env import Env
from .errors import InvalidInput, InvalidVolume

_RULE = "volume_extension:volume_actions:"
_NO_DEVICE = ("creating", "error", "deleting", "error_deleting")


def _volume(s: Session, call: Call, action: str) -> Volume:
    return load_volume(s, call.ctx, call.volume_id, _RULE + action)


def _empty(call: Call, name: str) -> None:
    if call.arg not in (None, {}) and not isinstance(call.arg, dict):
        raise InvalidInput(f"{name} takes no arguments")


async def reserve(env: Env, call: Call) -> None:
    _empty(call, "os-reserve")

    def work(s: Session) -> None:
        vol = _volume(s, call, "reserve")
        ok = ("available", "in-use") if vol.multiattach else ("available",)
        if not conditional(s, vol.id, {"status": "attaching"}, status=ok):
            raise InvalidVolume(f"Volume status must be {' or '.join(ok)} to reserve, but "
                                f"the status is {vol.status}.")
    await env.run(work)


def _unreserve(s: Session, vol: Volume) -> None:
    status = "in-use" if of_volume(s, vol.id) else "available"
    conditional(s, vol.id, {"status": status}, status=("attaching",))


async def unreserve(env: Env, call: Call) -> None:
    _empty(call, "os-unreserve")
    await env.run(lambda s: _unreserve(s, _volume(s, call, "unreserve")))


async def begin_detaching(env: Env, call: Call) -> None:
    _empty(call, "os-begin_detaching")

    def work(s: Session) -> None:
        vol = _volume(s, call, "begin_detaching")
        if not conditional(s, vol.id, {"status": "detaching"}, status=("in-use",),
                           attach_status=("attached",),
                           migration_status=(None, "success", "error", "none")):
            raise InvalidVolume("Unable to detach volume. Volume status must be 'in-use' and "
                                "attach_status must be 'attached' to detach.")
    await env.run(work)


async def roll_detaching(env: Env, call: Call) -> None:
    _empty(call, "os-roll_detaching")

    def work(s: Session) -> None:
        vol = _volume(s, call, "roll_detaching")
        conditional(s, vol.id, {"status": "in-use"}, status=("detaching",))
    await env.run(work)


def _attach_args(arg: Any) -> tuple[str | None, str | None, str, str]:
    if not isinstance(arg, dict):
        raise InvalidInput("os-attach takes an object")
    unknown = sorted(set(arg) - {"instance_uuid", "host_name", "mountpoint", "mode"})
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    mountpoint = checks.text(arg.get("mountpoint"), "mountpoint", nullable=False)
    if not mountpoint:
        raise InvalidInput("'mountpoint' is a required property")
    instance = arg.get("instance_uuid")
    host = checks.text(arg.get("host_name"), "host_name")
    if instance is None and host is None:
        raise InvalidInput("One of 'instance_uuid' or 'host_name' is required")
    if instance is not None and checks.canonical_id(instance) is None:
        raise InvalidInput(f"instance_uuid {instance!r} is not a UUID")
    mode = arg.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise InvalidInput(f"Invalid attach mode {mode!r}: rw or ro")
    return checks.canonical_id(instance) if instance else None, host, mountpoint, mode


async def attach(env: Env, call: Call) -> None:
    instance, host, mountpoint, mode = _attach_args(call.arg)

    def work(s: Session) -> None:
        vol = _volume(s, call, "attach")
        if vol.status in _NO_DEVICE or vol.status == "maintenance":
            raise InvalidVolume(f"Volume {vol.id} cannot be attached while {vol.status}.")
        existing = [a for a in of_volume(s, vol.id)
                    if (a.instance_uuid == instance if instance else a.attached_host == host)]
        if existing:  # already tracked: the volume is in use by it (Cinder's attach_volume)
            vol.status, vol.attach_status = "in-use", "attached"
            return
        if vol.status == "in-use" and not vol.multiattach:
            raise InvalidVolume("volume is already attached and multiple attachments are not "
                                "enabled")
        s.add(VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id,
                               project_id=vol.project_id, instance_uuid=instance,
                               attached_host=host, mountpoint=mountpoint,
                               attach_status="attached", attach_mode=mode,
                               attach_time=utcnow()))
        vol.status, vol.attach_status = "in-use", "attached"
        vol.updated_at = utcnow()
    await env.run(work)


async def detach_action(env: Env, call: Call) -> None:
    arg = call.arg if call.arg is not None else {}
    if not isinstance(arg, dict) or set(arg) - {"attachment_id"}:
        raise InvalidInput("os-detach takes at most an 'attachment_id'")
    wanted = arg.get("attachment_id")
    if wanted is not None and checks.canonical_id(wanted) is None:
        raise InvalidInput(f"attachment_id {wanted!r} is not a UUID")

    def work(s: Session) -> None:
        vol = _volume(s, call, "detach")
        if vol.status == "maintenance":
            raise InvalidVolume("The volume cannot be detached in maintenance mode.")
        if wanted is not None:
            detach(s, vol, str(checks.canonical_id(wanted)))
            return
        atts = of_volume(s, vol.id)
        if len(atts) > 1:
            raise InvalidVolume("Detach volume failed: More than one attachment, but no "
                                "attachment_id provided.")
        if atts:
            detach(s, vol, atts[0].id)
        else:
            settle(s, vol)
    await env.run(work)


def _connector(call: Call, name: str) -> Any:
    connector = call.field("connector")
    if connector is None and name == "os-terminate_connection":
        return None
    if not isinstance(connector, (dict, str)) or (name == "os-initialize_connection"
                                                  and not connector):
        raise InvalidInput("connector must be an object")
    return connector


async def initialize_connection(env: Env, call: Call) -> Reply:
    connector = _connector(call, "os-initialize_connection")

    def work(s: Session) -> tuple[str, str, str, str]:
        vol = _volume(s, call, "initialize_connection")
        if vol.status in _NO_DEVICE or vol.status == "maintenance":
            raise InvalidVolume(f"The volume connection cannot be initialized while the "
                                f"volume is {vol.status}.")
        modes = {a.attach_mode for a in of_volume(s, vol.id) if a.attach_mode != "null"}
        mode = "ro" if modes == {"ro"} else "rw"
        return vol.cluster, vol.pool, vol.id, mode
    cluster, pool, vid, mode = await env.run(work)
    info = await connection.build(env, cluster, pool, vid, mode)
    multipath = connector.get("enforce_multipath", False) if isinstance(connector, dict) \
        else False
    return Reply(200, {"connection_info": {**info, "enforce_multipath": bool(multipath)}})


async def terminate_connection(env: Env, call: Call) -> None:
    _connector(call, "os-terminate_connection")
    await env.run(lambda s: _unreserve(s, _volume(s, call, "terminate_connection")))


ACTIONS: dict[str, Handler] = {
    "os-reserve": reserve,
    "os-unreserve": unreserve,
    "os-begin_detaching": begin_detaching,
    "os-roll_detaching": roll_detaching,
    "os-attach": attach,
    "os-detach": detach_action,
    "os-initialize_connection": initialize_connection,
    "os-terminate_connection": terminate_connection,
}
