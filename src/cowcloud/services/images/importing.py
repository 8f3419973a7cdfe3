"""POST /v2/images/{id}/import: checking the request (IMP-04/05/07) and queueing the task.

The checks and their codes follow Glance: a bad body is 400; an image in the wrong status, an
unknown store, missing formats or an import already running are 409; copy-image to a store the
image is already in is 400 (with `all_stores` such stores are dropped silently). The image's
status, the progress properties (IMP-06), the import lock (IMP-08) and the task row commit in one
transaction, so there is never an "importing" image without its task.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Task
from ..context import RequestContext
from ..errors import Invalid
from . import access, webdl
from .env import REAP_KIND, STAGED, Env, location
from .errors import Conflict
from .landing import conversion_refused, needs_conversion
from .model import FAILED_IMPORT, IMPORT_TASK, IMPORTING, active_locations, prop, set_prop
from .stores import STAGING_STORE

METHODS = ("glance-direct", "web-download", "copy-image")
TASK_KIND = "api_image_import"


IMPORT_REQ_KEYS = ("method", "stores", "all_stores", "all_stores_must_succeed")


def _parse(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("Body expected in request.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise Invalid("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise Invalid("Import request requires a 'name' field.")
    if name not in METHODS:
        raise Invalid(f"Unknown import method name '{name}'.")
    for key, default in (("all_stores_must_succeed", True), ("all_stores", False)):
        if not isinstance(body.get(key, default), bool):
            raise Invalid(f"'{key}' must be boolean value only")
    stores = body.get("stores")
    if stores is not None and (not isinstance(stores, list)
                               or not all(isinstance(x, str) for x in stores)):
        raise Invalid("'stores' must be a list of store identifiers")
    if stores and body.get("all_stores"):
        raise Invalid("All_stores parameter can't be used with x-image-meta-store header or "
                      "stores parameter")
    if name == "web-download" and not isinstance(method.get("uri"), str):
        raise Invalid("Import method web-download requires a 'uri' field.")
    return body


def _targets(env: Env, body: dict[str, Any], header_store: str | None) -> list[str]:
    if body.get("all_stores"):
        return env.stores.names()
    names = body.get("stores") or ([header_store] if header_store else
                                   [env.stores.default.name])
    for name in names:
        if name not in env.stores:
            raise Conflict(f"Store for scheme {name} not found")
    return list(dict.fromkeys(names))


def _running_task(s: Session, task_id: str | None) -> bool:
    if not task_id:
        return False
    task = s.get(Task, task_id)
    return task is not None and task.status in ("pending", "processing")


def _zombie(s: Session, cluster: str, pool: str, device: str) -> bool:
    """A deferred delete of this very device waits for clones: its name is still taken."""
    for task in s.scalars(select(Task).where(Task.kind == REAP_KIND,
                                             Task.status.in_(("pending", "processing")))):
        if (task.input.get("cluster"), task.input.get("pool"),
                task.input.get("device")) == (cluster, pool, device):
            return True
    return False


def queue(s: Session, env: Env, ctx: RequestContext, image_id: str, body: dict[str, Any],
          stores: list[str], *, kind: str = TASK_KIND,
          extra: dict[str, Any] | None = None) -> str | None:
    """Checks the import against the image and queues its task in the caller's transaction;
    the task id, or None when there is nothing to do. The task input gets `extra` too."""
    method = body["method"]["name"]
    rule = "image:copy_image" if method == "copy-image" else "image:import_image"
    image = access.load(s, ctx, image_id, rule)
    status = image.status
    if status == "active" and method != "copy-image":
        raise Conflict("Image with status active cannot be target for import")
    if status != "active" and method == "copy-image":
        raise Conflict("Only images with status active can be targeted for copying")
    if status != "queued" and method == "web-download":
        raise Conflict(f"Image needs to be in 'queued' state to use '{method}' method")
    if method == "glance-direct":
        staged = location(s, image.id, STAGING_STORE)
        if status != "uploading" or staged is None or staged.status != STAGED:
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    if not image.container_format:
        raise Conflict("'container_format' needs to be set before import")
    if not image.disk_format:
        raise Conflict("'disk_format' needs to be set before import")
    if method == "web-download":  # resolves the host: only once the caller may import at all
        webdl.check(body["method"]["uri"], env.settings.image)
    if _running_task(s, prop(image, IMPORT_TASK)):
        raise Conflict(f"Image {image.id} has an import in progress "
                       f"(task {prop(image, IMPORT_TASK)})")
    if method == "copy-image":
        present = {loc.store for loc in active_locations(image)}
        if body.get("all_stores"):
            stores = [name for name in stores if name not in present]
            if not stores:
                return None  # already everywhere: nothing to do (Glance answers 202 too)
        for name in stores:
            if name in present:
                raise Invalid(f"Image is already present at store '{name}'")
            if needs_conversion(env, image.disk_format, env.stores[name]):
                raise Invalid(conversion_refused(image.disk_format, name))
        for name in stores:
            st = env.stores[name]
            if _zombie(s, st.cluster, st.pool, image.id):
                raise Conflict(f"The data of image {image.id} in store {name!r} still backs "
                               "clones (volumes or instance disks) and waits for them to go; "
                               "the image cannot be copied there until then")
    else:
        image.status = "importing"
    set_prop(image, IMPORTING, ",".join(stores))
    set_prop(image, FAILED_IMPORT, "")
    task = env.tasks.add(s, kind, owner=image.owner, resource_id=image.id, input={
        "image_id": image.id, "method": body["method"], "stores": stores,
        "all_stores_must_succeed": body.get("all_stores_must_succeed", True),
        "user_id": ctx.user_id, "request_id": ctx.request_id or None,
        "import_req": {k: body[k] for k in IMPORT_REQ_KEYS if k in body}, **(extra or {})})
    set_prop(image, IMPORT_TASK, task.id)
    return task.id


async def request_import(env: Env, ctx: RequestContext, image_id: str, body: Any,
                         header_store: str | None) -> str | None:
    """Validates and queues an import; returns the task id (None when there is nothing to do)."""
    body = _parse(body)
    stores = _targets(env, body, header_store)
    task_id = await env.run(queue, env, ctx, image_id, body, stores)
    if task_id:
        env.tasks.wake()
    return task_id
