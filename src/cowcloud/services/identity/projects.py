"""Projects: where users work and grants point (no hierarchy: each project's parent is its
domain); their store and their API."""

from __future__ import annotations

from typing import Any

from ...db.models import Domain, Project
from ..context import RequestContext
from ..errors import Invalid
from ..policy import enforce
from . import bodies, views
from .base import ServiceBase, Store
from .common import DEFAULT_DOMAIN_ID, filtered, get, set_fields, unique
from .grants import forget_targets
from .records import ProjectRecord


class ProjectStore(Store):
    def list_projects(self, name: str | None = None, domain_id: str | None = None,
                      enabled: bool | None = None) -> list[ProjectRecord]:
        with self.db.session() as s:
            return [ProjectRecord.of(p) for p in filtered(s, Project, name=name,
                                                          domain_id=domain_id, enabled=enabled)]

    def get_project(self, project_id: str) -> ProjectRecord:
        with self.db.session() as s:
            return ProjectRecord.of(get(s, Project, project_id, "project"))

    def create_project(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                       description: str = "", enabled: bool = True) -> ProjectRecord:
        with unique("project", name), self.db.session() as s:
            get(s, Domain, domain_id, "domain")
            project = Project(name=name, domain_id=domain_id, description=description,
                              enabled=enabled)
            s.add(project)
            s.flush()
            return ProjectRecord.of(project)

    def update_project(self, project_id: str, changes: dict[str, Any]) -> ProjectRecord:
        with unique("project", changes.get("name", "")), self.db.session() as s:
            project = get(s, Project, project_id, "project")
            set_fields(project, changes, ("name", "description", "enabled"))
            s.flush()
            return ProjectRecord.of(project)

    def delete_project(self, project_id: str) -> None:
        with self.db.session() as s:
            s.delete(get(s, Project, project_id, "project"))
            forget_targets(s, "project", [project_id])


class ProjectService(ServiceBase):
    async def list_projects(self, ctx: RequestContext, url: str, name: str | None = None,
                            domain_id: str | None = None,
                            enabled: bool | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_projects")
        found = await self.run(self.store.list_projects, name=name, domain_id=domain_id,
                               enabled=enabled)
        return [views.project(url, p) for p in found]

    async def create_project(self, ctx: RequestContext, url: str, body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:create_project")
        part = bodies.section(body, "project")
        domain_id = part.get("domain_id") or ctx.domain_id or DEFAULT_DOMAIN_ID
        if part.get("is_domain") or part.get("parent_id") not in (None, domain_id):
            raise Invalid("project hierarchies and projects acting as domains are not supported")
        fields = bodies.changes(part, ("description", "enabled", "domain_id"), "project")
        created = await self.run(self.store.create_project,
                                 bodies.name(part, "project", bodies.SHORT_NAME), domain_id,
                                 fields.get("description") or "", fields.get("enabled", True))
        return views.project(url, created)

    async def get_project(self, ctx: RequestContext, url: str,
                          project_id: str) -> dict[str, Any]:
        found = await self.fetch_enforced(ctx, "identity:get_project",
                                          lambda: self.store.get_project(project_id),
                                          lambda p: {"project_id": p.id,
                                                     "domain_id": p.domain_id})
        return views.project(url, found)

    async def update_project(self, ctx: RequestContext, url: str, project_id: str,
                             body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:update_project", {"project_id": project_id})
        changes = bodies.changes(bodies.section(body, "project"),
                                 ("name", "description", "enabled"), "project",
                                 bodies.SHORT_NAME)
        return views.project(url, await self.run(self.store.update_project, project_id,
                                                 changes))

    async def delete_project(self, ctx: RequestContext, project_id: str) -> None:
        enforce(ctx, "identity:delete_project", {"project_id": project_id})
        await self.run(self.store.delete_project, project_id)
