"""/os-aggregates: host aggregates, their hosts and metadata (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute, version

router = APIRouter()


@router.get("/os-aggregates")
async def list_aggregates(request: Request,
                          ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_aggregates(ctx, version(request)))


@router.post("/os-aggregates")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"aggregate": await compute(request).create_aggregate(
        ctx, await body(request), version(request))})


@router.get("/os-aggregates/{aggregate_id}")
async def show(aggregate_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"aggregate": await compute(request).get_aggregate(
        ctx, aggregate_id, version(request))})


@router.put("/os-aggregates/{aggregate_id}")
async def update(aggregate_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"aggregate": await compute(request).update_aggregate(
        ctx, aggregate_id, await body(request), version(request))})


@router.delete("/os-aggregates/{aggregate_id}")
async def delete(aggregate_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).delete_aggregate(ctx, aggregate_id)
    return Response(status_code=200)


@router.post("/os-aggregates/{aggregate_id}/action")
async def action(aggregate_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"aggregate": await compute(request).aggregate_action(
        ctx, aggregate_id, await body(request), version(request))})
