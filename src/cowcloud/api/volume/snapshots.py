"""/snapshots: create, list (summary and detail), show, update, delete, actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import base, body, params, version, volumes

router = APIRouter()


@router.post("/snapshots")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    snap = await volumes(request).create_snapshot(ctx, await body(request), version(request))
    return JSONResponse({"snapshot": snap}, status_code=202)


@router.get("/snapshots")
async def list_summary(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).list_snapshots(
        ctx, params(request), version(request), base(request), detail=False))


@router.get("/snapshots/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).list_snapshots(
        ctx, params(request), version(request), base(request), detail=True))


@router.get("/snapshots/{snapshot_id}")
async def show(snapshot_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    snap = await volumes(request).get_snapshot(ctx, snapshot_id, version(request))
    return JSONResponse({"snapshot": snap})


@router.put("/snapshots/{snapshot_id}")
async def update(snapshot_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    snap = await volumes(request).update_snapshot(ctx, snapshot_id, await body(request),
                                                  version(request))
    return JSONResponse({"snapshot": snap})


@router.delete("/snapshots/{snapshot_id}")
async def delete(snapshot_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).delete_snapshot(ctx, snapshot_id)
    return Response(status_code=202)


@router.post("/snapshots/{snapshot_id}/action")
async def action(snapshot_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).snapshot_action(ctx, snapshot_id, await body(request))
    return Response(status_code=202)
