"""Keystone v3 catalog resources, read-only: services, endpoints, regions (services.catalog)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...services.context import RequestContext
from ...services.errors import NotFound
from ...services.policy import enforce
from ...services.runtime import Runtime
from ..auth import get_context, get_runtime, public_url
from .views import collection, endpoint_view, region_view, service_view

router = APIRouter(prefix="/v3")
Rt = Depends(get_runtime)
Ctx = Depends(get_context)


@router.get("/services")
def list_services(request: Request, type: str | None = None, name: str | None = None,
                  rt: Runtime = Rt, ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_services")
    services = [s for s in rt.catalog.services
                if type in (None, s.type) and name in (None, s.name)]
    return collection(request, "services", [service_view(request, s) for s in services])


@router.get("/services/{service_id}")
def get_service(request: Request, service_id: str, rt: Runtime = Rt,
                ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:get_service")
    service = rt.catalog.get_service(service_id)
    if service is None:
        raise NotFound(f"Could not find service: {service_id}.")
    return {"service": service_view(request, service)}


@router.get("/endpoints")
def list_endpoints(request: Request, service_id: str | None = None,
                   interface: str | None = None, region_id: str | None = None,
                   rt: Runtime = Rt, ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_endpoints")
    endpoints = [e for e in rt.catalog.endpoints(public_url(request))
                 if service_id in (None, e.service.id) and interface in (None, e.interface)
                 and region_id in (None, e.region)]
    return collection(request, "endpoints", [endpoint_view(request, e) for e in endpoints])


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(request: Request, endpoint_id: str, rt: Runtime = Rt,
                 ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:get_endpoint")
    for endpoint in rt.catalog.endpoints(public_url(request)):
        if endpoint.id == endpoint_id:
            return {"endpoint": endpoint_view(request, endpoint)}
    raise NotFound(f"Could not find endpoint: {endpoint_id}.")


@router.get("/regions")
def list_regions(request: Request, rt: Runtime = Rt,
                 ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:list_regions")
    return collection(request, "regions", [region_view(request, rt.catalog.region)])


@router.get("/regions/{region_id}")
def get_region(request: Request, region_id: str, rt: Runtime = Rt,
               ctx: RequestContext = Ctx) -> dict[str, Any]:
    enforce(ctx, "identity:get_region")
    if region_id != rt.catalog.region:
        raise NotFound(f"Could not find region: {region_id}.")
    return {"region": region_view(request, region_id)}
