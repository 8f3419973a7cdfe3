"""Keystone's catalog resources, read-only: services, endpoints, regions (services.catalog)."""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import views
from .base import ServiceBase


class CatalogCalls(ServiceBase):
    async def list_services(self, ctx: RequestContext, url: str, type: str | None = None,
                            name: str | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_services")
        return [views.service(url, s) for s in self.catalog.services
                if type in (None, s.type) and name in (None, s.name)]

    async def get_service(self, ctx: RequestContext, url: str,
                          service_id: str) -> dict[str, Any]:
        enforce(ctx, "identity:get_service")
        service = self.catalog.get_service(service_id)
        if service is None:
            raise NotFound(f"Could not find service: {service_id}.")
        return views.service(url, service)

    async def list_endpoints(self, ctx: RequestContext, url: str,
                             service_id: str | None = None, interface: str | None = None,
                             region_id: str | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_endpoints")
        return [views.endpoint(url, e) for e in self.catalog.endpoints(url)
                if service_id in (None, e.service.id) and interface in (None, e.interface)
                and region_id in (None, e.region)]

    async def get_endpoint(self, ctx: RequestContext, url: str,
                           endpoint_id: str) -> dict[str, Any]:
        enforce(ctx, "identity:get_endpoint")
        for endpoint in self.catalog.endpoints(url):
            if endpoint.id == endpoint_id:
                return views.endpoint(url, endpoint)
        raise NotFound(f"Could not find endpoint: {endpoint_id}.")

    async def list_regions(self, ctx: RequestContext, url: str) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_regions")
        return [views.region(url, self.catalog.region)]

    async def get_region(self, ctx: RequestContext, url: str, region_id: str) -> dict[str, Any]:
        enforce(ctx, "identity:get_region")
        if region_id != self.catalog.region:
            raise NotFound(f"Could not find region: {region_id}.")
        return views.region(url, region_id)
