"""POST /snapshots/{id}/action: os-reset_status and os-force_delete (admins), and
os-update_snapshot_status (a snapshot's owner: what Nova calls for the snapshots it takes itself).

Like the volume admin actions, reset repairs the record and never the device; force_delete
deletes whatever the status, except a snapshot a volume is being built from, which nothing can
make safe. Cinder's vocabularies and transitions, so its clients and tempest see the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import utcnow
from ..context import RequestContext
from .access import load_snapshot
from .calls import pick
from .env import Env
from .errors import InvalidInput, InvalidSnapshot
from .snapshots import start_delete

# Cinder's SnapshotStatus, less `deleted` (which only a delete reaches)
STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "updating",
            "unmanaging", "backing-up", "restoring")
# os-update_snapshot_status: from the current status, the ones it may report
UPDATES = {"creating": ("creating", "available", "error"),
           "deleting": ("deleting", "error_deleting")}

Action = Callable[[Session, Env, RequestContext, str, Any], None]


def _object(arg: Any, name: str) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise InvalidInput(f"{name} takes an object")
    return arg


def _status(arg: dict[str, Any], allowed: frozenset[str] = frozenset({"status"})) -> str:
    unknown = sorted(set(arg) - allowed)
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    status = arg.get("status")
    if status is None:
        raise InvalidInput("'status' is a required property")
    if not isinstance(status, str) or status.lower() not in STATUSES:
        raise InvalidInput(f"Snapshot status: {status} is invalid, valid statuses are: "
                           f"{', '.join(STATUSES)}.")
    return status.lower()


def reset_status(s: Session, env: Env, ctx: RequestContext, snapshot_id: str, arg: Any) -> None:
    status = _status(_object(arg, "os-reset_status"))
    snap = load_snapshot(s, ctx, snapshot_id,
                         "volume_extension:snapshot_admin_actions:reset_status")
    snap.status, snap.progress, snap.updated_at = status, None, utcnow()


def force_delete(s: Session, env: Env, ctx: RequestContext, snapshot_id: str, arg: Any) -> None:
    if arg not in (None, {}) and not isinstance(arg, dict):
        raise InvalidInput("os-force_delete takes no arguments")
    start_delete(s, env, ctx, snapshot_id, force=True)


def update_status(s: Session, env: Env, ctx: RequestContext, snapshot_id: str,
                  arg: Any) -> None:
    spec = _object(arg, "os-update_snapshot_status")
    status = _status(spec, frozenset({"status", "progress"}))
    progress = spec.get("progress")
    if progress is not None and (not isinstance(progress, str) or len(progress) > 255):
        raise InvalidInput("progress must be a string of at most 255 characters")
    snap = load_snapshot(s, ctx, snapshot_id,
                         "snapshot_extension:snapshot_actions:update_snapshot_status")
    if snap.status not in UPDATES:
        raise InvalidSnapshot(f"Snapshot status {snap.status} not allowed for "
                              "update_snapshot_status")
    if status not in UPDATES[snap.status]:
        raise InvalidSnapshot(f"Provided snapshot status {status} not allowed for snapshot "
                              f"with status {snap.status}.")
    snap.status, snap.updated_at = status, utcnow()
    if progress:
        snap.progress = progress


ACTIONS: dict[str, Action] = {
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
    "os-update_snapshot_status": update_status,
}


async def dispatch(env: Env, ctx: RequestContext, snapshot_id: str, body: Any) -> None:
    _name, action, arg = pick(body, ACTIONS)
    await env.run(action, env, ctx, snapshot_id, arg)
