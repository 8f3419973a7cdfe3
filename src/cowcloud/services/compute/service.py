"""ComputeService: the Compute API v2.1 domain behind /compute, in one object the API calls.

Methods take the caller's RequestContext and the negotiated microversion and return dicts
shaped as Nova's API; each runs in one short transaction off the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...storage.registry import Clusters
from ...tasks import TaskRunner
from ..context import RequestContext
from ..errors import NotFound, Unavailable
from ..images import ImageService
from . import (
    aggregates,
    bdm,
    build,
    evacuate,
    flavors,
    groups,
    hosts,
    kernel,
    keypairs,
    limits,
    servers,
    snapshots,
    volume_attach,
    work,
)
from .env import BUILD_KIND, Env
from .errors import BadRequest, ComputeConflict
from .views import MIN_VERSION, Version

# Agents of other API processes are not woken by this one's events: they look again this often
# while they wait for work.
POLL_FALLBACK_SECONDS = 1.0
CONSOLE_WAIT_SECONDS = 30.0


class ComputeService:
    def __init__(self, settings: Settings, db: Database, clusters: Clusters, tasks: TaskRunner,
                 images: ImageService, volumes: Any = None) -> None:
        self.env = Env(settings, db, Targets(settings, clusters), tasks, images)
        self._events: dict[str, asyncio.Event] = {}
        # Scheduling reads every host's usage and then adds a server: two at once in this
        # process would both see the same free RAM. (API processes of a scale-out deployment
        # can still race each other; Nova's placement claims are what would close that.)
        self._placing = threading.Lock()
        tasks.register(BUILD_KIND, build.CopyImage(self.env, self.wake))
        # the volume service, in-process (volume_attach.py says why and how)
        self.volume_attach = volume_attach.VolumeAttacher(self.env, volumes, self.wake)
        tasks.register(snapshots.SNAPSHOT_KIND, snapshots.SnapshotServer(self.env))
        tasks.register(bdm.BOOT_KIND, bdm.BootFromVolume(
            self.env, volumes, self.wake, self.volume_attach.cluster_id))

    def wake(self, host: str | None) -> None:
        """An agent of `host` waiting for work in this process looks now."""
        if host is not None and host in self._events:
            self._events[host].set()

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
        def job(s: Any) -> dict[str, Any]:
            answer = hosts.register(s, ctx, body, self.down_after)
            # the guests it may run: an agent back from the dead drops the others (moved
            # away by evacuate meanwhile), leaving their disks alone
            answer["servers"] = servers.on_host(s, answer["host"])
            return answer
        out = await self.env.run(job)
        out["poll_seconds"] = self.env.settings.compute.agent_poll_seconds
        return out

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

    # ---------------------------------------------------------------- the agents' work

    async def next_work(self, ctx: RequestContext, host: str, session: Any, wait: float
                        ) -> list[dict[str, Any]]:
        """The host's pending work, waiting up to `wait` seconds for some (a long poll)."""
        wait = max(0.0, min(wait, self.env.settings.compute.agent_poll_seconds))
        deadline = time.monotonic() + wait
        event = self._events.setdefault(host, asyncio.Event())
        while True:
            event.clear()
            items = await self.env.run(work.claim, ctx, host, session)
            left = deadline - time.monotonic()
            if items or left <= 0:
                return items
            try:
                await asyncio.wait_for(event.wait(), min(left, POLL_FALLBACK_SECONDS))
            except asyncio.TimeoutError:
                pass

    async def report_work(self, ctx: RequestContext, host: str, session: Any, work_id: int,
                          result: Any) -> None:
        if not isinstance(result, dict):
            raise BadRequest("result must be an object")

        def job(s: Any) -> list[str]:
            item = work.finish(s, ctx, host, session, work_id, result)
            servers.apply(s, item, result)
            return volume_attach.apply(s, item, result)
        # volumes to delete with their server (delete_on_termination), once released
        await self.volume_attach.delete_volumes(await self.env.run(job))

    # ---------------------------------------------------------------- servers

    async def create_server(self, ctx: RequestContext, body: Any, version: Version,
                            base: str) -> dict[str, Any]:
        req = servers.parse_create(body, version)
        if req.boot is not None:
            return await bdm.create(self, ctx, req, version, base)
        try:
            image = await self.env.images.source(ctx, req.image_ref)
        except NotFound:
            raise BadRequest(f"Image {req.image_ref} could not be found.") from None
        boot = await kernel.boot_of(self.env.images, ctx, image)
        settings = self.env.settings

        def placed(s: Any) -> dict[str, Any]:
            answer, plan = servers.create(
                s, ctx, req, image, version, base, down_after=self.down_after,
                convert_for_rbd=settings.image.convert_to_raw_for_rbd,
                quotas=settings.compute)
            if plan is not None:
                plan["boot"] = boot
                cluster = build.needs_copy(self.env, plan)
                if cluster is None:
                    servers.queue_spawn(s, plan)
                else:
                    self.env.tasks.add(s, BUILD_KIND, resource_id=plan["server_id"],
                                       owner=ctx.project_id,
                                       input={"plan": plan, "cluster": cluster})
            answer["_host"] = plan["host"] if plan else None
            return answer
        def locked() -> dict[str, Any]:
            with self._placing, self.env.db.session() as s:
                return placed(s)
        answer = await asyncio.to_thread(locked)
        self.wake(answer.pop("_host"))
        self.env.tasks.wake()
        return answer

    async def get_server(self, ctx: RequestContext, server_id: str, version: Version,
                         base: str) -> dict[str, Any]:
        return await self.env.run(servers.show, ctx, server_id, version, base)

    async def list_servers(self, ctx: RequestContext, params: list[tuple[str, str]],
                           version: Version, base: str, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: servers.list_servers(s, ctx, params, version, base,
                                                                 detail=detail))

    async def update_server(self, ctx: RequestContext, server_id: str, body: Any,
                            version: Version, base: str) -> dict[str, Any]:
        return await self.env.run(servers.update, ctx, server_id, body, version, base)

    async def server_action(self, ctx: RequestContext, server_id: str, body: Any,
                            version: Version = MIN_VERSION, base: str = ""
                            ) -> dict[str, Any] | None:
        if isinstance(body, dict) and list(body) == ["os-getConsoleOutput"]:
            return {"output": await self.console(ctx, server_id, body["os-getConsoleOutput"])}
        if isinstance(body, dict) and list(body) == ["rebuild"]:
            return {"server": await self._rebuild(ctx, server_id, body["rebuild"], version,
                                                  base)}
        if isinstance(body, dict) and list(body) == ["evacuate"]:
            image_id = await self.env.run(lambda s: servers.load(
                s, ctx, server_id, "compute:servers:evacuate").image_id)
            boot = await kernel.boot_of_server(self.env.images, image_id)
            self.wake(await self.env.run(evacuate.start, ctx, server_id, body["evacuate"],
                                         self.down_after, boot))
            return None
        self.wake(await self.env.run(servers.action, ctx, server_id, body))
        return None

    async def _rebuild(self, ctx: RequestContext, server_id: str, arg: Any, version: Version,
                       base: str) -> dict[str, Any]:
        """Queues the rebuild; the server as Nova answers a rebuild (with a new adminPass)."""
        if not isinstance(arg, dict) or not arg.get("imageRef"):
            raise BadRequest("Invalid input for field/attribute rebuild: 'imageRef' is a "
                             "required property")
        image_ref = servers._ref_id(arg["imageRef"], "imageRef")
        try:
            image = await self.env.images.source(ctx, image_ref)
        except NotFound:
            raise BadRequest(f"Image {image_ref} could not be found.") from None
        convert = self.env.settings.image.convert_to_raw_for_rbd
        boot = await kernel.boot_of(self.env.images, ctx, image)

        def job(s: Any) -> str:
            plan = {**servers.rebuild(s, ctx, server_id, arg, image, convert), "boot": boot}
            cluster = build.needs_copy(self.env, plan)
            if cluster is None:
                servers.queue_spawn(s, plan)
            else:
                self.env.tasks.add(s, BUILD_KIND, resource_id=plan["server_id"],
                                   owner=ctx.project_id,
                                   input={"plan": plan, "cluster": cluster})
            return str(plan["host"])
        self.wake(await self.env.run(job))
        self.env.tasks.wake()
        shown = await self.env.run(lambda s: servers.short_view(
            servers.load(s, ctx, server_id, "compute:servers:rebuild"), ctx, version, base,
            rebuild=True))
        return {**shown, "adminPass": uuid.uuid4().hex[:12]}

    async def console(self, ctx: RequestContext, server_id: str, arg: Any) -> str:
        """The guest's console as its agent reads it (the agent answers over its channel;
        this request waits for that, a bounded while)."""
        work_id, host, length = await self.env.run(servers.console_request, ctx, server_id,
                                                   arg)
        self.wake(host)
        deadline = time.monotonic() + CONSOLE_WAIT_SECONDS
        pause = 0.02
        while time.monotonic() < deadline:
            result = await self.env.run(work.take_result, work_id)
            if result is not None:
                if not result.get("ok"):
                    raise ComputeConflict(f"The console of instance {server_id} could not "
                                          f"be read: {result.get('error')}")
                return servers.console_tail(str(result.get("output", "")), length)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        raise Unavailable(f"The agent of host {host} did not answer within "
                          f"{CONSOLE_WAIT_SECONDS:.0f} s.")

    async def delete_server(self, ctx: RequestContext, server_id: str) -> None:
        self.wake(await self.env.run(servers.delete, ctx, server_id))

    # ---------------------------------------------------------------- volumes of servers

    async def attach_volume(self, ctx: RequestContext, server_id: str, body: Any,
                            version: Version) -> dict[str, Any]:
        return await self.volume_attach.attach(ctx, server_id, body, version)

    async def detach_volume(self, ctx: RequestContext, server_id: str, volume_id: str
                            ) -> None:
        await self.volume_attach.detach(ctx, server_id, volume_id)

    async def server_volumes(self, ctx: RequestContext, server_id: str, version: Version
                             ) -> list[dict[str, Any]]:
        return await self.env.run(volume_attach.list_for, ctx, server_id, version)

    async def server_volume(self, ctx: RequestContext, server_id: str, volume_id: str,
                            version: Version) -> dict[str, Any]:
        return await self.env.run(volume_attach.show, ctx, server_id, volume_id, version)

    async def create_image(self, ctx: RequestContext, server_id: str, arg: Any) -> str:
        """createImage: the new image's id (snapshots.py)."""
        return await snapshots.create_image(self.env, self.volume_attach.volumes, ctx,
                                            server_id, arg)

    # ---------------------------------------------------------------- key pairs

    async def list_keypairs(self, ctx: RequestContext, params: dict[str, str],
                            version: Version) -> dict[str, Any]:
        return await self.env.run(keypairs.list_keypairs, ctx, params, version)

    async def get_keypair(self, ctx: RequestContext, name: str, params: dict[str, str],
                          version: Version) -> dict[str, Any]:
        return await self.env.run(keypairs.show, ctx, name, params, version)

    async def create_keypair(self, ctx: RequestContext, body: Any, version: Version
                             ) -> dict[str, Any]:
        return await self.env.run(keypairs.create, ctx, body, version)

    async def delete_keypair(self, ctx: RequestContext, name: str, params: dict[str, str],
                             version: Version) -> None:
        await self.env.run(keypairs.delete, ctx, name, params, version)

    # ---------------------------------------------------------------- groups and limits

    async def create_group(self, ctx: RequestContext, body: Any, version: Version
                           ) -> dict[str, Any]:
        return await self.env.run(groups.create, ctx, body, version)

    async def get_group(self, ctx: RequestContext, group_id: str, version: Version
                        ) -> dict[str, Any]:
        return await self.env.run(groups.show, ctx, group_id, version)

    async def list_groups(self, ctx: RequestContext, params: dict[str, str],
                          version: Version) -> dict[str, Any]:
        return await self.env.run(groups.list_groups, ctx, params, version)

    async def delete_group(self, ctx: RequestContext, group_id: str) -> None:
        await self.env.run(groups.delete, ctx, group_id)

    async def limits(self, ctx: RequestContext, version: Version) -> dict[str, Any]:
        return await self.env.run(limits.show, ctx, self.env.settings.compute, version)
