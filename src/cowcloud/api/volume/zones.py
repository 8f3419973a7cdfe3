"""/os-availability-zone: the volume backends' sites."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes import zones
from ..auth import get_context
from .common import volumes

router = APIRouter()


@router.get("/os-availability-zone")
async def list_zones(request: Request,
                     ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    found = zones.list_zones(volumes(request).env, ctx)
    return JSONResponse({"availabilityZoneInfo": found})
