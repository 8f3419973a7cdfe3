"""Domains: Keystone's containers of projects, users and groups; their store and their API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...db.models import Domain, Group, Project, User
from ..context import RequestContext
from ..errors import Denied
from ..policy import enforce
from . import bodies, views
from .base import ServiceBase, Store
from .common import DEFAULT_DOMAIN_ID, changed_meanwhile, filtered, get, plain, set_fields, unique
from .grants import forget_actors, forget_targets
from .records import DomainRecord


class DomainStore(Store):
    def list_domains(self, name: str | None = None,
                     enabled: bool | None = None) -> list[DomainRecord]:
        with self.db.session() as s:
            return [DomainRecord.of(d) for d in filtered(s, Domain, name=name, enabled=enabled)]

    def get_domain(self, domain_id: str) -> DomainRecord:
        with self.db.session() as s:
            return DomainRecord.of(get(s, Domain, domain_id, "domain"))

    def create_domain(self, name: str, description: str = "",
                      enabled: bool = True) -> DomainRecord:
        with unique("domain", name), self.db.session() as s:
            domain = Domain(name=name, description=description, enabled=enabled)
            s.add(domain)
            s.flush()
            return DomainRecord.of(domain)

    def update_domain(self, domain_id: str, changes: dict[str, Any]) -> DomainRecord:
        if domain_id == DEFAULT_DOMAIN_ID and changes.get("enabled") is False:
            # the admin user lives there: disabling it ends every admin token, and no API call
            # could enable it again (Keystone allows it; its bootstrap is how you get back in)
            raise Denied("Cannot disable the default domain: it holds the admin user.")
        with unique("domain", changes.get("name", "")), self.db.session() as s:
            domain = get(s, Domain, domain_id, "domain")
            set_fields(domain, changes, ("name", "description", "enabled"))
            s.flush()
            return DomainRecord.of(domain)

    def delete_domain(self, domain_id: str) -> None:
        """Keystone's delete: only a disabled domain, and with it its projects, users and
        groups, their role assignments, memberships and application credentials.
        A project or user created in it meanwhile makes the delete fail: a 409, nothing gone."""
        with changed_meanwhile("domain", domain_id), self.db.session() as s:
            domain = get(s, Domain, domain_id, "domain")
            if domain.id == DEFAULT_DOMAIN_ID:  # the bootstrap's, holding the admin
                raise Denied("Cannot delete the default domain.")
            if domain.enabled:  # Keystone's guard against a slip, in Keystone's words
                raise Denied("Cannot delete a domain that is enabled, please disable it first.")
            projects = s.scalars(delete(Project).where(Project.domain_id == domain_id)
                                 .returning(Project.id)).all()
            forget_targets(s, "project", projects)
            forget_targets(s, "domain", [domain_id])
            # memberships and application credentials go by their foreign keys' cascade
            for model, actor_type in ((Group, "group"), (User, "user")):
                gone = s.scalars(delete(model).where(model.domain_id == domain_id)
                                 .returning(model.id)).all()
                forget_actors(s, actor_type, gone)
            s.delete(domain)

    @staticmethod
    def find_domain(s: Session, ref: dict[str, Any]) -> Domain | None:
        """A domain by {"id": ...} or {"name": ...}, as auth requests name them (anything else
        names no domain: a request body's odd types must not reach the database)."""
        if not isinstance(ref, dict):
            return None
        if ref.get("id"):
            return s.get(Domain, ref["id"]) if plain(ref["id"]) else None
        if ref.get("name"):
            return (s.scalar(select(Domain).where(Domain.name == ref["name"]))
                    if plain(ref["name"]) else None)
        return None


class DomainService(ServiceBase):
    async def list_domains(self, ctx: RequestContext, url: str, name: str | None = None,
                           enabled: bool | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_domains")
        found = await self.run(self.store.list_domains, name=name, enabled=enabled)
        return [views.domain(url, d) for d in found]

    async def create_domain(self, ctx: RequestContext, url: str, body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:create_domain")
        part = bodies.section(body, "domain")
        fields = bodies.changes(part, ("description", "enabled"), "domain")
        created = await self.run(self.store.create_domain,
                                 bodies.name(part, "domain", bodies.SHORT_NAME),
                                 fields.get("description") or "", fields.get("enabled", True))
        return views.domain(url, created)

    async def get_domain(self, ctx: RequestContext, url: str, domain_id: str) -> dict[str, Any]:
        found = await self.fetch_enforced(ctx, "identity:get_domain",
                                          lambda: self.store.get_domain(domain_id),
                                          lambda d: {"domain_id": d.id})
        return views.domain(url, found)

    async def update_domain(self, ctx: RequestContext, url: str, domain_id: str,
                            body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:update_domain", {"domain_id": domain_id})
        changes = bodies.changes(bodies.section(body, "domain"),
                                 ("name", "description", "enabled"), "domain", bodies.SHORT_NAME)
        return views.domain(url, await self.run(self.store.update_domain, domain_id, changes))

    async def delete_domain(self, ctx: RequestContext, domain_id: str) -> None:
        enforce(ctx, "identity:delete_domain", {"domain_id": domain_id})
        await self.run(self.store.delete_domain, domain_id)
