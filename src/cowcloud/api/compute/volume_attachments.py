"""/servers/{id}/os-volume_attachments: attach, list, show and detach volumes (Nova's
os-volume_attachments; swapping a volume with PUT is not offered)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute, version

router = APIRouter()


@router.get("/servers/{server_id}/os-volume_attachments")
async def list_attachments(server_id: str, request: Request,
                           ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volumeAttachments": await compute(request).server_volumes(
        ctx, server_id, version(request))})


@router.post("/servers/{server_id}/os-volume_attachments")
async def attach(server_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volumeAttachment": await compute(request).attach_volume(
        ctx, server_id, await body(request), version(request))})


@router.get("/servers/{server_id}/os-volume_attachments/{volume_id}")
async def show(server_id: str, volume_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volumeAttachment": await compute(request).server_volume(
        ctx, server_id, volume_id, version(request))})


@router.delete("/servers/{server_id}/os-volume_attachments/{volume_id}")
async def detach(server_id: str, volume_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).detach_volume(ctx, server_id, volume_id)
    return Response(status_code=202)
