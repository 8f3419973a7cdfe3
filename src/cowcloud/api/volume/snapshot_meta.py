"""/snapshots/{id}/metadata: list, merge (POST), replace (PUT), and one key's get/set/delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes import snapshot_meta
from ..auth import get_context
from .common import body, volumes

router = APIRouter()


@router.get("/snapshots/{snapshot_id}/metadata")
async def metadata(snapshot_id: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    meta = await volumes(request).env.run(snapshot_meta.get, ctx, snapshot_id)
    return JSONResponse({"metadata": meta})


@router.post("/snapshots/{snapshot_id}/metadata")
async def merge(snapshot_id: str, request: Request,
                ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    meta = await volumes(request).env.run(
        lambda s: snapshot_meta.set_all(s, ctx, snapshot_id, data, replace=False))
    return JSONResponse({"metadata": meta})


@router.put("/snapshots/{snapshot_id}/metadata")
async def replace(snapshot_id: str, request: Request,
                  ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    meta = await volumes(request).env.run(
        lambda s: snapshot_meta.set_all(s, ctx, snapshot_id, data, replace=True))
    return JSONResponse({"metadata": meta})


@router.get("/snapshots/{snapshot_id}/metadata/{key}")
async def item(snapshot_id: str, key: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    meta = await volumes(request).env.run(snapshot_meta.get_item, ctx, snapshot_id, key)
    return JSONResponse({"meta": meta})


@router.put("/snapshots/{snapshot_id}/metadata/{key}")
async def set_item(snapshot_id: str, key: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    meta = await volumes(request).env.run(snapshot_meta.set_item, ctx, snapshot_id, key, data)
    return JSONResponse({"meta": meta})


@router.delete("/snapshots/{snapshot_id}/metadata/{key}")
async def delete_item(snapshot_id: str, key: str, request: Request,
                      ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).env.run(snapshot_meta.delete_item, ctx, snapshot_id, key)
    return Response(status_code=200)
