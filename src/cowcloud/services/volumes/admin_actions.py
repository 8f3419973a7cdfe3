"""The admins' volume actions: os-reset_status and os-force_delete (Cinder's admin_actions).

os-reset_status sets status, attach_status and migration_status as the admin says, within
Cinder's vocabularies: it repairs the record, never the device. attach_status `detached`
also removes the volume's attachments (a server that died without detaching); `in-use` needs
an attachment to be true. os-force_delete deletes whatever the status, except what nothing can
make safe: an attached volume, or one a running task of this service works on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ...db.models import utcnow
from . import volumes
from .access import load_volume
from .attachments import detach, of_volume
from .calls import Call, Handler
from .env import Env
from .errors import InvalidInput

# Cinder's VolumeStatus, VolumeAttachStatus (as reset_status takes it), VolumeMigrationStatus
STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "error_managing",
            "managing", "attaching", "in-use", "detaching", "maintenance", "restoring-backup",
            "error_restoring", "reserved", "awaiting-transfer", "backing-up",
            "error_backing-up", "error_extending", "downloading", "uploading", "retyping",
            "extending")
ATTACH_STATUSES = ("attached", "detached")
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")
# what a reset may not claim: a delete or a detach in progress is the service's to start
REFUSED = ("deleting", "error_deleting", "detaching")


def _choice(spec: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in allowed:
        label = {"status": "Volume status", "attach_status": "Volume attach status",
                 "migration_status": "Volume migration status"}[key]
        raise InvalidInput(f"{label}: {value} is invalid, valid statuses are: "
                           f"{', '.join(allowed)}.")
    return value.lower()


def reset(s: Session, call: Call) -> None:
    spec = call.arg
    if not isinstance(spec, dict):
        raise InvalidInput("os-reset_status takes an object")
    unknown = sorted(set(spec) - {"status", "attach_status", "migration_status"})
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    status = _choice(spec, "status", STATUSES)
    attach_status = _choice(spec, "attach_status", ATTACH_STATUSES)
    migration = _choice(spec, "migration_status", MIGRATION_STATUSES)
    if not (status or attach_status or migration):
        raise InvalidInput("Must specify 'status', 'attach_status' or 'migration_status' for "
                           "update.")
    if status in REFUSED:
        raise InvalidInput(f"Cannot reset-state to {status}")
    vol = load_volume(s, call.ctx, call.volume_id,
                      "volume_extension:volume_admin_actions:reset_status")
    if status == "in-use" and not of_volume(s, vol.id):
        raise InvalidInput("Cannot reset-state to in-use because volume does not have any "
                           "attachments.")
    if attach_status == "detached":
        for att in of_volume(s, vol.id):
            detach(s, vol, att.id)  # settles the status from what is left: none
    if status:
        vol.status = status
    if attach_status:
        vol.attach_status = attach_status
    if migration:
        vol.migration_status = None if migration == "none" else migration
    vol.updated_at = utcnow()


async def reset_status(env: Env, call: Call) -> None:
    await env.run(reset, call)


async def force_delete(env: Env, call: Call) -> None:
    if call.arg not in (None, {}) and not isinstance(call.arg, dict):
        raise InvalidInput("os-force_delete takes no arguments")

    def work(s: Session) -> None:
        load_volume(s, call.ctx, call.volume_id,
                    "volume_extension:volume_admin_actions:force_delete")
        volumes.start_delete(s, env, call.ctx, call.volume_id, False, force=True)
    await env.run(work)
    env.tasks.wake()


ACTIONS: dict[str, Handler] = {
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
}
