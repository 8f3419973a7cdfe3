"""The tasks API (/v2/tasks): image tasks for admins, and Glance's legacy `import` task.

`POST /v2/tasks` with `{"type": "import", "input": {"import_from": URL, "import_from_format":
FMT, "image_properties": {...}}}` creates an image from `image_properties` and fetches URL into
the default store. That is a web-download import under another name, so it is queued the same way
and run by the same handler; its result names the image. Newer Glance refuses an unusable
`import_from` when the task is created (Launchpad bug 2152110), and so does cowcloud: the URL
goes through the web-download filter first. If the import fails, the image it created is deleted,
since nobody asked for it separately. Only image tasks are shown here, never the internal ones
(deferred deletes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Task
from ...tasks import FAILURE, PENDING, PROCESSING, SUCCESS, Control, TaskRecord
from ..context import RequestContext
from ..errors import Invalid, NotFound
from ..paging import parse_limit
from ..policy import enforce
from . import catalog, importing, webdl
from .env import Env, image_row
from .import_task import ImportTask
from .model import UUID_RE, isotime

LEGACY_KIND = "import"
KINDS = (LEGACY_KIND, importing.TASK_KIND)
STATUSES = (PENDING, PROCESSING, SUCCESS, FAILURE)
SORT_KEYS = ("created_at", "updated_at", "expires_at", "id", "type", "status")
# expires_at is updated_at plus Glance's task time-to-live: the same order
SORT_COLUMNS = {"type": Task.kind, "expires_at": Task.updated_at}
DEFAULT_LIMIT, MAX_LIMIT = 25, 1000
SCHEMA = "/v2/schemas/task"


def _summary(t: TaskRecord) -> dict[str, Any]:
    return {"id": t.id, "type": t.kind, "status": t.status, "owner": t.owner,
            "created_at": isotime(t.created_at), "updated_at": isotime(t.updated_at),
            "expires_at": None, "self": f"/v2/tasks/{t.id}", "schema": SCHEMA}


def task_detail(t: TaskRecord) -> dict[str, Any]:
    """GET /v2/tasks/{id}: the summary plus input, result and message."""
    inp = t.input
    if t.kind == LEGACY_KIND:
        shown_input: dict[str, Any] = inp.get("legacy_input", {})
        result = {"image_id": inp["image_id"]} if t.status == "success" else None
    else:
        shown_input = {"image_id": inp.get("image_id"), "backend": inp.get("stores"),
                       "import_req": inp.get("import_req")}
        result = t.result or None
    return {**_summary(t), "input": shown_input, "result": result, "message": t.message,
            "image_id": inp.get("image_id"), "request_id": inp.get("request_id"),
            "user_id": inp.get("user_id")}


# --------------------------------------------------------------------- create

def _legacy_input(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("Body expected in request: a JSON object describing the task.")
    if body.get("type") != LEGACY_KIND:
        raise Invalid(f"Task type {body.get('type')!r} is not supported (only 'import')")
    extra = set(body) - {"type", "input"}
    if extra:
        raise Invalid(f"Attribute(s) {', '.join(sorted(extra))} may not be set on a task")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise Invalid("Task input is required: an object with import_from, "
                      "import_from_format and image_properties")
    for key, kind in (("import_from", str), ("import_from_format", str),
                      ("image_properties", dict)):
        if not isinstance(inp.get(key), kind):
            raise Invalid(f"Task input needs {key} ({'a string' if kind is str else 'an object'})")
    props = inp["image_properties"]
    if not props.get("disk_format") or not props.get("container_format"):
        raise Invalid("image_properties must set disk_format and container_format")
    return inp


def _queue_legacy(s: Session, env: Env, ctx: RequestContext, inp: dict[str, Any]) -> str:
    image = catalog.create(s, ctx, inp["image_properties"])
    request = {"method": {"name": "web-download", "uri": inp["import_from"]}}
    task_id = importing.queue(s, env, ctx, image.id, request, [env.stores.default.name],
                              kind=LEGACY_KIND, extra={"legacy_input": inp})
    assert task_id is not None  # a new queued image always gets its task
    return task_id


async def create_task(env: Env, ctx: RequestContext, body: Any) -> dict[str, Any]:
    enforce(ctx, "image:add_task", {"project_id": ctx.project_id})
    inp = _legacy_input(body)
    webdl.check(inp["import_from"], env.settings.image)  # 400 now, not a failed task later
    task_id = await env.run(_queue_legacy, env, ctx, inp)
    env.tasks.wake()
    record = env.tasks.get(task_id)
    assert record is not None
    return task_detail(record)


# --------------------------------------------------------------------- read

def get_task(env: Env, ctx: RequestContext, task_id: str) -> dict[str, Any]:
    enforce(ctx, "image:get_task", {"project_id": ctx.project_id})
    # task ids are UUIDs: anything else names none (and a NUL would fail on PostgreSQL)
    record = env.tasks.get(task_id) if UUID_RE.match(task_id) else None
    if record is None or record.kind not in KINDS:
        raise NotFound(f"Task with the identifier {task_id} not found")
    return task_detail(record)


def list_tasks(env: Env, ctx: RequestContext, params: list[tuple[str, str]]
               ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of tasks and the marker of the next page (or None)."""
    enforce(ctx, "image:get_tasks", {"project_id": ctx.project_id})
    q: dict[str, str] = {}
    for name, value in params:
        if name not in ("type", "status", "sort_key", "sort_dir", "limit", "marker"):
            raise Invalid(f"Unknown task filter or parameter {name!r}")
        q[name] = value
    sort_key, sort_dir = q.get("sort_key", "created_at"), q.get("sort_dir", "desc")
    if sort_key not in SORT_KEYS:
        raise Invalid(f"Invalid sort key: {sort_key}. It must be one of: {', '.join(SORT_KEYS)}")
    if sort_dir not in ("asc", "desc"):
        raise Invalid(f"Invalid sort direction: {sort_dir}")
    # Glance's filter check; it also keeps the internal kinds (deferred deletes) out of sight
    if q.get("type", KINDS[0]) not in KINDS:
        raise Invalid(f"Invalid type value: {q['type']}")
    if q.get("status", STATUSES[0]) not in STATUSES:
        raise Invalid(f"Invalid status value: {q['status']}")
    limit = parse_limit(q.get("limit", str(DEFAULT_LIMIT)), MAX_LIMIT)
    column = SORT_COLUMNS.get(sort_key) or getattr(Task, sort_key)
    order = [column.asc() if sort_dir == "asc" else column.desc(),
             Task.id.asc() if sort_dir == "asc" else Task.id.desc()]
    query = select(Task).where(Task.kind.in_([q["type"]] if "type" in q else KINDS))
    if "status" in q:
        query = query.where(Task.status == q["status"])
    with env.db.session() as s:
        rows = [TaskRecord.of(t) for t in s.scalars(query.order_by(*order))]
    start = 0
    if "marker" in q:
        ids = [t.id for t in rows]
        if q["marker"] not in ids:
            raise Invalid(f"marker {q['marker']} could not be found.")
        start = ids.index(q["marker"]) + 1
    page = rows[start:start + limit]
    more = limit > 0 and start + limit < len(rows)
    return [_summary(t) for t in page], page[-1].id if more and page else None


# --------------------------------------------------------------------- handler

def _drop_unborn_image(s: Session, image_id: str) -> None:
    image = image_row(s, image_id)
    if image is not None and image.status == "queued" and not image.locations:
        image.status = "deleted"


class LegacyImportTask(ImportTask):
    """The web-download handler; the image it created goes again when the import fails."""

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        result = await super().run(task, control)
        return {**result, "image_id": task.input["image_id"]}

    async def failed(self, task: TaskRecord, message: str) -> None:
        await super().failed(task, message)
        await self.env.run(_drop_unborn_image, task.input["image_id"])
