"""The deployment's own description, as Cinder answers it: /os-availability-zone, /extensions,
/os-services, /os-hosts, /scheduler-stats/get_pools, /capabilities, /volumes/summary, /messages;
and a plain 404 for the volume groups API, which is not built here.

Included before volumes.py: /volumes/summary would otherwise be taken for a volume id.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.errors import NotFound
from ...services.volumes import inventory
from ...services.volumes.checks import boolean
from ...services.volumes.errors import VolumeNotFound
from ..auth import get_context
from .common import body, params, version, volumes

router = APIRouter()


@router.get("/os-availability-zone")
async def zones(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"availabilityZoneInfo": inventory.zones(volumes(request).env, ctx)})


@router.get("/extensions")
async def extensions(_ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"extensions": inventory.extensions()})


@router.get("/os-services")
async def services(request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"services": inventory.services(volumes(request).env, ctx,
                                                       params(request), version(request))})


@router.put("/os-services/{action}")
async def update_service(action: str, request: Request,
                         ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(inventory.update_service(volumes(request).env, ctx, action,
                                                 await body(request), version(request)))


@router.get("/os-hosts")
async def hosts(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"hosts": inventory.hosts(volumes(request).env, ctx, version(request))})


@router.get("/os-hosts/{host}")
async def host(host: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    env = volumes(request).env
    return JSONResponse({"host": await env.run(inventory.host_detail, env, ctx, host)})


@router.get("/scheduler-stats/get_pools")
async def pools(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    detail = boolean(request.query_params.get("detail", "false"), "detail")
    return JSONResponse({"pools": await inventory.pools(volumes(request).env, ctx,
                                                        params(request), detail=detail)})


@router.get("/capabilities/{host}")
async def capabilities(host: str, request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(inventory.capabilities(volumes(request).env, ctx, host))


@router.get("/volumes/summary")
async def summary(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    if version(request) < (3, 12):  # before 3.12 Cinder reads "summary" as a volume id
        raise VolumeNotFound("summary")
    env = volumes(request).env
    return JSONResponse({"volume-summary": await env.run(
        inventory.summary, ctx, params(request), version(request))})


@router.get("/messages")
async def messages(ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"messages": inventory.messages(ctx)})


@router.api_route("/messages/{message_id}", methods=["GET", "DELETE"])
async def message(message_id: str, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"message": inventory.message(ctx, message_id)})


async def groups(_ctx: RequestContext = Depends(get_context)) -> None:
    raise NotFound("The volume groups API is not available on this server.")


for _kind in ("groups", "group_types", "group_snapshots"):
    router.add_api_route(f"/{_kind}{{rest:path}}", groups,
                         methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
