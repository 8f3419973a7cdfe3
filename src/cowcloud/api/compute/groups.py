"""/os-server-groups and /limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute, params, version

router = APIRouter()


@router.post("/os-server-groups")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"server_group": await compute(request).create_group(
        ctx, await body(request), version(request))})


@router.get("/os-server-groups")
async def list_groups(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_groups(ctx, params(request),
                                                           version(request)))


@router.get("/os-server-groups/{group_id}")
async def show(group_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"server_group": await compute(request).get_group(
        ctx, group_id, version(request))})


@router.delete("/os-server-groups/{group_id}")
async def delete(group_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).delete_group(ctx, group_id)
    return Response(status_code=204)


@router.get("/limits")
async def limits(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).limits(ctx, version(request)))
