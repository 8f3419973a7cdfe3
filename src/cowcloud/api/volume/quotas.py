"""/os-quota-sets/{project_id} (show, ?usage=true, defaults, update, delete), the quota
classes (/os-quota-class-sets/default: every project's defaults) and /limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes import quotas
from ...services.volumes.checks import boolean
from ..auth import get_context
from .common import body, version, volumes

router = APIRouter()


@router.get("/os-quota-sets/{target}")
async def show(target: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    usage = boolean(request.query_params.get("usage", "false"), "usage")
    found = await env.run(lambda s: quotas.show(s, env.settings.volume, ctx, target,
                                                usage=usage))
    return JSONResponse({"quota_set": found})


@router.get("/os-quota-sets/{target}/defaults")
async def defaults(target: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    found = await env.run(quotas.show_defaults, env.settings.volume, ctx, target)
    return JSONResponse({"quota_set": found})


@router.get("/os-quota-class-sets/{name}")
async def show_class(name: str, request: Request,
                     ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    found = await env.run(quotas.show_class, env.settings.volume, ctx, name)
    return JSONResponse({"quota_class_set": found})


@router.put("/os-quota-class-sets/{name}")
async def update_class(name: str, request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    data = await body(request)
    found = await env.run(quotas.update_class, env.settings.volume, ctx, name, data)
    return JSONResponse({"quota_class_set": found})


@router.put("/os-quota-sets/{target}")
async def update(target: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    data = await body(request)
    found = await env.run(quotas.update_limits, env.settings.volume, ctx, target, data)
    return JSONResponse({"quota_set": found})


@router.delete("/os-quota-sets/{target}")
async def delete(target: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).env.run(quotas.reset, ctx, target)
    return Response(status_code=200)


@router.get("/limits")
async def limits(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    project = request.query_params.get("project_id") if version(request) >= (3, 39) else None
    found = await env.run(quotas.absolute_limits, env.settings.volume, ctx, project)
    return JSONResponse({"limits": found})
