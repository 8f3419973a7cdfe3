"""Keystone v3 catalog resources, read-only: services, endpoints, regions. Only HTTP here
(services.identity does the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...services.context import RequestContext
from .common import Ctx, collection, identity, url

router = APIRouter(prefix="/v3")


@router.get("/services")
async def list_services(request: Request, type: str | None = None, name: str | None = None,
                        ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_services(ctx, url(request), type, name)
    return collection(request, "services", found)


@router.get("/services/{service_id}")
async def get_service(request: Request, service_id: str,
                      ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"service": await identity(request).get_service(ctx, url(request), service_id)}


@router.get("/endpoints")
async def list_endpoints(request: Request, service_id: str | None = None,
                         interface: str | None = None, region_id: str | None = None,
                         ctx: RequestContext = Ctx) -> dict[str, Any]:
    found = await identity(request).list_endpoints(ctx, url(request), service_id, interface,
                                                   region_id)
    return collection(request, "endpoints", found)


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(request: Request, endpoint_id: str,
                       ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"endpoint": await identity(request).get_endpoint(ctx, url(request), endpoint_id)}


@router.get("/regions")
async def list_regions(request: Request, ctx: RequestContext = Ctx) -> dict[str, Any]:
    return collection(request, "regions", await identity(request).list_regions(ctx,
                                                                              url(request)))


@router.get("/regions/{region_id}")
async def get_region(request: Request, region_id: str,
                     ctx: RequestContext = Ctx) -> dict[str, Any]:
    return {"region": await identity(request).get_region(ctx, url(request), region_id)}
