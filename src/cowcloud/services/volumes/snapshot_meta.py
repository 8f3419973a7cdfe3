"""Snapshot metadata (/snapshots/{id}/metadata): the same calls and checks as a volume's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ...db.models import utcnow
from ..context import RequestContext
from ..errors import NotFound
from . import checks
from .access import load_snapshot
from .errors import InvalidInput


def get(s: Session, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
    return dict(load_snapshot(s, ctx, snapshot_id, "volume:get_snapshot_metadata").meta)


def set_all(s: Session, ctx: RequestContext, snapshot_id: str, body: Any, *,
            replace: bool) -> dict[str, str]:
    if not isinstance(body, dict) or "metadata" not in body:
        raise InvalidInput("Missing required element 'metadata' in request body.")
    meta = checks.metadata(body["metadata"])
    snap = load_snapshot(s, ctx, snapshot_id, "volume:update_snapshot_metadata")
    snap.meta = meta if replace else {**snap.meta, **meta}
    snap.updated_at = utcnow()
    return dict(snap.meta)


def get_item(s: Session, ctx: RequestContext, snapshot_id: str, key: str) -> dict[str, str]:
    snap = load_snapshot(s, ctx, snapshot_id, "volume:get_snapshot_metadata")
    if key not in snap.meta:
        raise NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
    return {key: snap.meta[key]}


def set_item(s: Session, ctx: RequestContext, snapshot_id: str, key: str,
             body: Any) -> dict[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        raise InvalidInput("Missing required element 'meta' in request body.")
    meta = checks.metadata(body["meta"])
    if list(meta) != [key]:
        raise InvalidInput("Request body and URI mismatch")
    snap = load_snapshot(s, ctx, snapshot_id, "volume:update_snapshot_metadata")
    snap.meta = {**snap.meta, **meta}
    snap.updated_at = utcnow()
    return meta


def delete_item(s: Session, ctx: RequestContext, snapshot_id: str, key: str) -> None:
    snap = load_snapshot(s, ctx, snapshot_id, "volume:delete_snapshot_metadata")
    if key not in snap.meta:
        raise NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
    snap.meta = {k: v for k, v in snap.meta.items() if k != key}
    snap.updated_at = utcnow()
