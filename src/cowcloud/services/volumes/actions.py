"""POST /volumes/{id}/action: one handler per action name, in one table.

A handler is `async def handler(env, call) -> Reply | None` (None: 202 with no body, Cinder's
answer to most actions). Each area keeps its handlers in its own module and exports them as a
dict; a new action is one line in ACTIONS below.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from . import admin_actions, attach_actions, checks, image_metadata, migration, upload, volumes
from .calls import Call, Handler, Reply, pick
from .env import Env, GiB, volume_device
from .views import Version


async def extend(env: Env, call: Call) -> None:
    size = checks.size_gib(call.field("new_size"), "new_size")
    cluster, pool, vid, _old = await env.run(volumes.start_extend, call.ctx, call.volume_id,
                                             size, env.settings.volume)
    done = None
    try:
        await env.backend(cluster).resize(volume_device(pool, vid), size * GiB)
        done = size
    finally:
        await env.run(volumes.finish_extend, vid, done)


async def set_bootable(env: Env, call: Call) -> Reply:
    await env.run(volumes.set_bootable, call.ctx, call.volume_id, call.field("bootable"))
    return Reply(200)  # Cinder answers this one with 200, the others with 202


ACTIONS: dict[str, Handler] = {
    "os-extend": extend,
    "os-set_bootable": set_bootable,
    **attach_actions.ACTIONS,
    **admin_actions.ACTIONS,
    **upload.ACTIONS,
    **image_metadata.ACTIONS,
    **migration.ACTIONS,
}


async def dispatch(env: Env, ctx: RequestContext, volume_id: str, body: Any,
                   version: Version, base: str) -> Reply:
    _name, handler, arg = pick(body, ACTIONS)
    return await handler(env, Call(ctx, volume_id, arg, version, base)) or Reply(202)
