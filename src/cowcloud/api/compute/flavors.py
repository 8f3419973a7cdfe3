"""/flavors with os-extra_specs and os-flavor-access."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.compute.errors import BadRequest
from ...services.context import RequestContext
from ..auth import get_context
from .common import base, body, compute, params, version

router = APIRouter()


@router.get("/flavors")
async def list_flavors(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_flavors(
        ctx, params(request), version(request), base(request), detail=False))


@router.get("/flavors/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_flavors(
        ctx, params(request), version(request), base(request), detail=True))


@router.post("/flavors")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"flavor": await compute(request).create_flavor(
        ctx, await body(request), version(request), base(request))})


@router.get("/flavors/{flavor_id}")
async def show(flavor_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"flavor": await compute(request).get_flavor(
        ctx, flavor_id, version(request), base(request))})


@router.put("/flavors/{flavor_id}")
async def update(flavor_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    if version(request) < (2, 55):
        raise BadRequest("Updating a flavor needs microversion 2.55 or later.")
    return JSONResponse({"flavor": await compute(request).update_flavor(
        ctx, flavor_id, await body(request), version(request), base(request))})


@router.delete("/flavors/{flavor_id}")
async def delete(flavor_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).delete_flavor(ctx, flavor_id)
    return Response(status_code=202)


@router.get("/flavors/{flavor_id}/os-extra_specs")
async def specs(flavor_id: str, request: Request,
                ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"extra_specs": await compute(request).flavor_specs(ctx, flavor_id)})


@router.post("/flavors/{flavor_id}/os-extra_specs")
async def set_specs(flavor_id: str, request: Request,
                    ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    if not isinstance(data, dict) or "extra_specs" not in data:
        raise BadRequest("Invalid input for field/attribute extra_specs: 'extra_specs' is a "
                         "required property")
    return JSONResponse({"extra_specs": await compute(request).set_flavor_specs(
        ctx, flavor_id, data["extra_specs"])})


@router.get("/flavors/{flavor_id}/os-extra_specs/{key}")
async def spec(flavor_id: str, key: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).flavor_spec(ctx, flavor_id, key))


@router.put("/flavors/{flavor_id}/os-extra_specs/{key}")
async def set_spec(flavor_id: str, key: str, request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Request body contains too many items" if isinstance(data, dict)
                         and data else "Request body is empty")
    if key not in data:
        raise BadRequest("Request body and URI mismatch")
    return JSONResponse(await compute(request).set_flavor_specs(ctx, flavor_id, data))


@router.delete("/flavors/{flavor_id}/os-extra_specs/{key}")
async def unset_spec(flavor_id: str, key: str, request: Request,
                     ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).unset_flavor_spec(ctx, flavor_id, key)
    return Response(status_code=200)


@router.get("/flavors/{flavor_id}/os-flavor-access")
async def access(flavor_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"flavor_access": await compute(request).flavor_access(ctx, flavor_id)})


@router.post("/flavors/{flavor_id}/action")
async def action(flavor_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"flavor_access": await compute(request).flavor_action(
        ctx, flavor_id, await body(request))})
