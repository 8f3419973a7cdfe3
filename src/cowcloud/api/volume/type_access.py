"""/types/{id}/os-volume-type-access (list) and /types/{id}/action (add/removeProjectAccess)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes import type_access
from ..auth import get_context
from .common import body, volumes

router = APIRouter()


@router.get("/types/{type_id}/os-volume-type-access")
async def list_access(type_id: str, request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    found = await volumes(request).env.run(type_access.list_access, ctx, type_id)
    return JSONResponse({"volume_type_access": found})


@router.post("/types/{type_id}/action")
async def action(type_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    data = await body(request)
    await volumes(request).env.run(type_access.change, ctx, type_id, data)
    return Response(status_code=202)
