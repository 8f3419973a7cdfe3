"""A volume's image metadata (`volume_image_metadata`) through Cinder's volume actions:
os-set_image_metadata merges keys in, os-unset_image_metadata removes one, and
os-show_image_metadata reads them. Nova reads these (hw_* properties) to boot from the volume,
so an operator fixes them here rather than re-creating the volume."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ...db.models import utcnow
from ..context import RequestContext
from ..errors import NotFound
from . import checks
from .access import load_volume
from .calls import Call, Handler, Reply
from .env import Env
from .errors import InvalidInput

NAMES = ("os-set_image_metadata", "os-unset_image_metadata", "os-show_image_metadata")


def act(s: Session, ctx: RequestContext, volume_id: str, name: str, arg: Any
        ) -> dict[str, Any] | None:
    """The answer's body (`{"metadata": ...}`), or None for unset (an empty 200)."""
    if name == "os-show_image_metadata":
        vol = load_volume(s, ctx, volume_id, "volume_extension:volume_image_metadata:show")
        return {"metadata": dict(vol.image_meta)}
    if name == "os-set_image_metadata":
        if not isinstance(arg, dict) or "metadata" not in arg:
            raise InvalidInput("'metadata' is a required property")
        meta = checks.metadata(arg["metadata"])
        vol = load_volume(s, ctx, volume_id, "volume_extension:volume_image_metadata:set")
        vol.image_meta = {**vol.image_meta, **meta}
        vol.updated_at = utcnow()
        return {"metadata": dict(vol.image_meta)}
    if not isinstance(arg, dict) or not isinstance(arg.get("key"), str):
        raise InvalidInput("'key' is a required property")
    vol = load_volume(s, ctx, volume_id, "volume_extension:volume_image_metadata:remove")
    if arg["key"] not in vol.image_meta:
        raise NotFound(f"Glance metadata for volume {vol.id} with key {arg['key']} "
                          "could not be found.")
    vol.image_meta = {k: v for k, v in vol.image_meta.items() if k != arg["key"]}
    vol.updated_at = utcnow()
    return None


def _handler(name: str) -> Handler:
    async def handle(env: Env, call: Call) -> Reply:
        # Cinder answers all three with 200, the unset one with no body
        return Reply(200, await env.run(act, call.ctx, call.volume_id, name, call.arg))
    return handle


ACTIONS: dict[str, Handler] = {name: _handler(name) for name in NAMES}
