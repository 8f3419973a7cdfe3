"""The tasks API: /image/v2/tasks (list, create the legacy import task) and /tasks/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context, public_url
from .common import images, json_body, json_response, page

router = APIRouter(prefix="/image/v2")
Ctx = Depends(get_context)


@router.post("/tasks")
async def create(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    task = await images(request).create_task(ctx, await json_body(request))
    return json_response(task, 201, headers={
        "Location": f"{public_url(request)}/image/v2/tasks/{task['id']}"})


@router.get("/tasks")
def index(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    params = list(request.query_params.multi_items())
    found, marker = images(request).list_tasks(ctx, params)
    return json_response(page("tasks", found, "/v2/tasks", "/v2/schemas/tasks", params, marker))


@router.get("/tasks/{task_id}")
def show(task_id: str, request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    return json_response(images(request).get_task(ctx, task_id))
