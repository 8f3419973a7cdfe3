"""/types: volume types and their extra specs (reads for everyone, writes for admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ...services.volumes.errors import InvalidInput, VolumeTypeNotFound
from ..auth import get_context
from .common import body, params, volumes

router = APIRouter()


@router.get("/types")
async def list_types(request: Request,
                     ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volume_types": await volumes(request).list_types(ctx,
                                                                           params(request))})


@router.post("/types")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volume_type": await volumes(request).create_type(
        ctx, await body(request))})


@router.get("/types/{type_id}")
async def show(type_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volume_type": await volumes(request).get_type(ctx, type_id)})


@router.put("/types/{type_id}")
async def update(type_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"volume_type": await volumes(request).update_type(
        ctx, type_id, await body(request))})


@router.delete("/types/{type_id}")
async def delete(type_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).delete_type(ctx, type_id)
    return Response(status_code=202)


@router.get("/types/{type_id}/extra_specs")
async def specs(type_id: str, request: Request,
                ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"extra_specs": await volumes(request).type_specs(ctx, type_id)})


@router.post("/types/{type_id}/extra_specs")
async def set_specs(type_id: str, request: Request,
                    ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    if not isinstance(data, dict) or "extra_specs" not in data:
        raise InvalidInput("Missing required element 'extra_specs' in request body.")
    return JSONResponse({"extra_specs": await volumes(request).set_type_specs(
        ctx, type_id, data["extra_specs"])})


@router.get("/types/{type_id}/extra_specs/{key}")
async def spec(type_id: str, key: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    found = await volumes(request).type_specs(ctx, type_id)
    if key not in found:
        raise VolumeTypeNotFound(f"{type_id} extra spec {key}")
    return JSONResponse({key: found[key]})


@router.put("/types/{type_id}/extra_specs/{key}")
async def set_spec(type_id: str, key: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    if not isinstance(data, dict) or list(data) != [key]:
        raise InvalidInput("Request body and URI mismatch")
    return JSONResponse(await volumes(request).set_type_specs(ctx, type_id, data))


@router.delete("/types/{type_id}/extra_specs/{key}")
async def unset_spec(type_id: str, key: str, request: Request,
                     ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).unset_type_spec(ctx, type_id, key)
    return Response(status_code=202)
