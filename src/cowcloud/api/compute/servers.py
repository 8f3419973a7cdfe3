"""/servers: create, list and show, power actions, delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context, public_url
from .common import base, body, compute, version

router = APIRouter()


@router.post("/servers")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"server": await compute(request).create_server(
        ctx, await body(request), version(request), base(request))}, status_code=202)


@router.get("/servers")
async def list_servers(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_servers(
        ctx, list(request.query_params.multi_items()), version(request), base(request),
        detail=False))


@router.get("/servers/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_servers(
        ctx, list(request.query_params.multi_items()), version(request), base(request),
        detail=True))


@router.get("/servers/{server_id}")
async def show(server_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"server": await compute(request).get_server(
        ctx, server_id, version(request), base(request))})


@router.put("/servers/{server_id}")
async def update(server_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"server": await compute(request).update_server(
        ctx, server_id, await body(request), version(request), base(request))})


@router.post("/servers/{server_id}/action")
async def action(server_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    data = await body(request)
    if isinstance(data, dict) and list(data) == ["createImage"]:
        image_id = await compute(request).create_image(ctx, server_id, data["createImage"])
        location = f"{public_url(request)}/image/v2/images/{image_id}"
        if version(request) >= (2, 45):  # the id in the body, no Location any more
            return JSONResponse({"image_id": image_id}, status_code=202)
        return Response(status_code=202, headers={"Location": location})
    answer = await compute(request).server_action(ctx, server_id, data, version(request),
                                                  base(request))
    if answer is not None:  # a read (os-getConsoleOutput) answers 200, a rebuild 202
        rebuild = isinstance(data, dict) and list(data) == ["rebuild"]
        return JSONResponse(answer, status_code=202 if rebuild else 200)
    return Response(status_code=202)


@router.delete("/servers/{server_id}")
async def delete(server_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).delete_server(ctx, server_id)
    return Response(status_code=204)
