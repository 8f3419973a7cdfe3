"""/volumes: create, list (summary and detail), show, update, delete, metadata, actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes.checks import boolean
from ..auth import get_context
from .common import base, body, params, version, volumes

router = APIRouter()


@router.post("/volumes")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    vol = await volumes(request).create(ctx, await body(request), version(request),
                                        base(request))
    return JSONResponse({"volume": vol}, status_code=202)


@router.get("/volumes")
async def list_summary(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).list_volumes(
        ctx, params(request), version(request), base(request), detail=False))


@router.get("/volumes/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).list_volumes(
        ctx, params(request), version(request), base(request), detail=True))


@router.get("/volumes/{volume_id}")
async def show(volume_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    vol = await volumes(request).get(ctx, volume_id, version(request), base(request))
    return JSONResponse({"volume": vol})


@router.put("/volumes/{volume_id}")
async def update(volume_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    vol = await volumes(request).update(ctx, volume_id, await body(request), version(request),
                                        base(request))
    return JSONResponse({"volume": vol})


@router.delete("/volumes/{volume_id}")
async def delete(volume_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    cascade = boolean(request.query_params.get("cascade", "false"), "cascade")
    # 3.23: `force` is os-force_delete's (an admin's) on the DELETE itself
    force = version(request) >= (3, 23) and boolean(request.query_params.get("force", "false"),
                                                    "force")
    await volumes(request).delete(ctx, volume_id, cascade, force=force)
    return Response(status_code=202)


@router.post("/volumes/{volume_id}/action")
async def action(volume_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    reply = await volumes(request).action(ctx, volume_id, await body(request),
                                          version(request), base(request))
    if reply.body is None:
        return Response(status_code=reply.status)
    return JSONResponse(reply.body, status_code=reply.status)


@router.get("/volumes/{volume_id}/metadata")
async def metadata(volume_id: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"metadata": await volumes(request).metadata(ctx, volume_id)})


@router.post("/volumes/{volume_id}/metadata")
async def merge_metadata(volume_id: str, request: Request,
                         ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    meta = await volumes(request).set_metadata(ctx, volume_id, await body(request),
                                               replace=False)
    return JSONResponse({"metadata": meta})


@router.put("/volumes/{volume_id}/metadata")
async def replace_metadata(volume_id: str, request: Request,
                           ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    meta = await volumes(request).set_metadata(ctx, volume_id, await body(request),
                                               replace=True)
    return JSONResponse({"metadata": meta})


@router.get("/volumes/{volume_id}/metadata/{key}")
async def metadata_item(volume_id: str, key: str, request: Request,
                        ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"meta": await volumes(request).metadata_item(ctx, volume_id, key)})


@router.put("/volumes/{volume_id}/metadata/{key}")
async def set_metadata_item(volume_id: str, key: str, request: Request,
                            ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    meta = await volumes(request).set_metadata_item(ctx, volume_id, key, await body(request))
    return JSONResponse({"meta": meta})


@router.delete("/volumes/{volume_id}/metadata/{key}")
async def delete_metadata_item(volume_id: str, key: str, request: Request,
                               ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).delete_metadata_item(ctx, volume_id, key)
    return Response(status_code=200)
