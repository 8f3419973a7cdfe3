"""/os-services, /os-hypervisors and /os-availability-zone: the hosts agents registered."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.compute.errors import BadRequest, HypervisorNotFound
from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute, params, version

router = APIRouter()
LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


@router.get("/os-services")
async def services(request: Request,
                   ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_services(ctx, params(request),
                                                             version(request)))


@router.put("/os-services/{service_id}")
async def update_service(service_id: str, request: Request,
                         ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    v = version(request)
    if v < (2, 53):
        if service_id not in LEGACY_ACTIONS:
            raise BadRequest(f"Unknown action {service_id}")
        return JSONResponse(await compute(request).update_service_legacy(
            ctx, service_id, await body(request), v))
    return JSONResponse(await compute(request).update_service(ctx, service_id,
                                                              await body(request), v))


@router.delete("/os-services/{service_id}")
async def delete_service(service_id: str, request: Request,
                         ctx: RequestContext = Depends(get_context)) -> Response:
    await compute(request).delete_service(ctx, service_id, version(request))
    return Response(status_code=204)


@router.get("/os-hypervisors")
async def hypervisors(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_hypervisors(
        ctx, params(request), version(request), detail=False))


@router.get("/os-hypervisors/detail")
async def hypervisors_detail(request: Request,
                             ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_hypervisors(
        ctx, params(request), version(request), detail=True))


@router.get("/os-hypervisors/statistics")
async def statistics(request: Request,
                     ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    if version(request) >= (2, 88):  # pragma: no cover - not claimed (MAX_VERSION)
        raise HypervisorNotFound("statistics")
    return JSONResponse(await compute(request).hypervisor_statistics(ctx))


@router.get("/os-hypervisors/{hypervisor_id}")
async def hypervisor(hypervisor_id: str, request: Request,
                     ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"hypervisor": await compute(request).get_hypervisor(
        ctx, hypervisor_id, params(request), version(request))})


@router.get("/os-hypervisors/{hypervisor_id}/uptime")
async def uptime(hypervisor_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"hypervisor": await compute(request).hypervisor_uptime(
        ctx, hypervisor_id, version(request))})


@router.get("/os-hypervisors/{pattern}/search")
async def search(pattern: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).search_hypervisors(
        ctx, pattern, version(request), servers=False))


@router.get("/os-hypervisors/{pattern}/servers")
async def servers(pattern: str, request: Request,
                  ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).search_hypervisors(
        ctx, pattern, version(request), servers=True))


@router.get("/os-availability-zone")
async def zones(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).zones(ctx, detail=False))


@router.get("/os-availability-zone/detail")
async def zones_detail(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).zones(ctx, detail=True))
