"""ComputeService: the Compute API v2.1 domain behind /compute, in one object the API calls.

Methods take the caller's RequestContext and the negotiated microversion and return dicts
shaped as Nova's API; each runs in one short transaction off the event loop.
"""

from __future__ import annotations

from typing import Any

from ...config import Settings
from ...db import Database
from ..context import RequestContext
from . import aggregates, flavors, hosts
from .env import Env
from .views import Version


class ComputeService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.env = Env(settings, db)

    @property
    def down_after(self) -> float:
        return self.env.settings.compute.service_down_seconds

    # ---------------------------------------------------------------- flavors

    async def list_flavors(self, ctx: RequestContext, params: dict[str, str], version: Version,
                           base: str, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: flavors.list_flavors(s, ctx, params, version, base,
                                                                 detail=detail))

    async def get_flavor(self, ctx: RequestContext, flavor_id: str, version: Version,
                         base: str) -> dict[str, Any]:
        return await self.env.run(flavors.show, ctx, flavor_id, version, base)

    async def create_flavor(self, ctx: RequestContext, body: Any, version: Version,
                            base: str) -> dict[str, Any]:
        return await self.env.run(flavors.create, ctx, body, version, base)

    async def update_flavor(self, ctx: RequestContext, flavor_id: str, body: Any,
                            version: Version, base: str) -> dict[str, Any]:
        return await self.env.run(flavors.update, ctx, flavor_id, body, version, base)

    async def delete_flavor(self, ctx: RequestContext, flavor_id: str) -> None:
        await self.env.run(flavors.delete, ctx, flavor_id)

    async def flavor_specs(self, ctx: RequestContext, flavor_id: str) -> dict[str, str]:
        return await self.env.run(flavors.get_specs, ctx, flavor_id)

    async def flavor_spec(self, ctx: RequestContext, flavor_id: str, key: str
                          ) -> dict[str, str]:
        return await self.env.run(flavors.get_spec, ctx, flavor_id, key)

    async def set_flavor_specs(self, ctx: RequestContext, flavor_id: str, specs: Any
                               ) -> dict[str, str]:
        return await self.env.run(flavors.set_specs, ctx, flavor_id, specs)

    async def unset_flavor_spec(self, ctx: RequestContext, flavor_id: str, key: str) -> None:
        await self.env.run(flavors.unset_spec, ctx, flavor_id, key)

    async def flavor_access(self, ctx: RequestContext, flavor_id: str) -> list[dict[str, str]]:
        return await self.env.run(flavors.access_list, ctx, flavor_id)

    async def flavor_action(self, ctx: RequestContext, flavor_id: str, body: Any
                            ) -> list[dict[str, str]]:
        from .errors import BadRequest
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest("An action body names exactly one action.")
        (name, arg), = body.items()
        tenant = arg.get("tenant") if isinstance(arg, dict) else None
        if name == "addTenantAccess":
            return await self.env.run(flavors.add_access, ctx, flavor_id, tenant)
        if name == "removeTenantAccess":
            return await self.env.run(flavors.remove_access, ctx, flavor_id, tenant)
        raise BadRequest(f"There is no such action: {name}")

    # ---------------------------------------------------------------- aggregates

    async def list_aggregates(self, ctx: RequestContext, version: Version) -> dict[str, Any]:
        return await self.env.run(aggregates.list_aggregates, ctx, version)

    async def get_aggregate(self, ctx: RequestContext, aggregate_id: str, version: Version
                            ) -> dict[str, Any]:
        return await self.env.run(aggregates.show, ctx, aggregate_id, version)

    async def create_aggregate(self, ctx: RequestContext, body: Any, version: Version
                               ) -> dict[str, Any]:
        return await self.env.run(aggregates.create, ctx, body, version)

    async def update_aggregate(self, ctx: RequestContext, aggregate_id: str, body: Any,
                               version: Version) -> dict[str, Any]:
        return await self.env.run(aggregates.update, ctx, aggregate_id, body, version)

    async def delete_aggregate(self, ctx: RequestContext, aggregate_id: str) -> None:
        await self.env.run(aggregates.delete, ctx, aggregate_id)

    async def aggregate_action(self, ctx: RequestContext, aggregate_id: str, body: Any,
                               version: Version) -> dict[str, Any]:
        return await self.env.run(aggregates.action, ctx, aggregate_id, body, version)

    # ---------------------------------------------------------------- hosts

    async def register_host(self, ctx: RequestContext, body: Any) -> dict[str, Any]:
        return await self.env.run(hosts.register, ctx, body, self.down_after)

    async def heartbeat(self, ctx: RequestContext, host: str, body: Any) -> dict[str, Any]:
        return await self.env.run(hosts.heartbeat, ctx, host, body)

    async def list_services(self, ctx: RequestContext, params: dict[str, str],
                            version: Version) -> dict[str, Any]:
        return await self.env.run(hosts.list_services, ctx, params, version, self.down_after)

    async def update_service_legacy(self, ctx: RequestContext, action: str, body: Any,
                                    version: Version) -> dict[str, Any]:
        return await self.env.run(hosts.update_legacy, ctx, action, body, version,
                                  self.down_after)

    async def update_service(self, ctx: RequestContext, service_id: str, body: Any,
                             version: Version) -> dict[str, Any]:
        return await self.env.run(hosts.update, ctx, service_id, body, version,
                                  self.down_after)

    async def delete_service(self, ctx: RequestContext, service_id: str,
                             version: Version) -> None:
        await self.env.run(hosts.delete_service, ctx, service_id, version)

    async def list_hypervisors(self, ctx: RequestContext, params: dict[str, str],
                               version: Version, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: hosts.list_hypervisors(
            s, ctx, params, version, self.down_after, detail=detail))

    async def get_hypervisor(self, ctx: RequestContext, hypervisor_id: str,
                             params: dict[str, str], version: Version) -> dict[str, Any]:
        return await self.env.run(hosts.show_hypervisor, ctx, hypervisor_id, params, version,
                                  self.down_after)

    async def hypervisor_uptime(self, ctx: RequestContext, hypervisor_id: str,
                                version: Version) -> dict[str, Any]:
        return await self.env.run(hosts.uptime, ctx, hypervisor_id, version, self.down_after)

    async def search_hypervisors(self, ctx: RequestContext, pattern: str, version: Version,
                                 *, servers: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: hosts.search(s, ctx, pattern, version,
                                                         self.down_after, servers=servers))

    async def hypervisor_statistics(self, ctx: RequestContext) -> dict[str, Any]:
        return await self.env.run(hosts.statistics, ctx, self.down_after)

    async def zones(self, ctx: RequestContext, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: hosts.zones(s, ctx, self.down_after,
                                                        detail=detail))
