"""Roles: admin > member > reader are built in and immutable; others are names to grant;
their store and their API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from ...db.models import Role, RoleAssignment
from ..context import RequestContext
from ..errors import Denied
from ..policy import enforce
from . import bodies, views
from .base import ServiceBase, Store
from .common import BUILTIN_ROLES, filtered, get, set_fields, unique
from .records import RoleRecord


def _mutable(role: Role, action: str) -> None:
    """The built-in roles are what Keystone's bootstrap makes immutable: the policy and the
    implied roles name them. Here they stay so (there is no option to unset)."""
    if role.name in BUILTIN_ROLES:
        raise Denied(f"Unable to {action} immutable role resource: `{role.id}`. The roles "
                     f"{', '.join(BUILTIN_ROLES)} are immutable.")


class RoleStore(Store):
    def list_roles(self, name: str | None = None) -> list[RoleRecord]:
        with self.db.session() as s:
            return [RoleRecord.of(r) for r in filtered(s, Role, name=name)]

    def get_role(self, role_id: str) -> RoleRecord:
        with self.db.session() as s:
            return RoleRecord.of(get(s, Role, role_id, "role"))

    def create_role(self, name: str, description: str = "") -> RoleRecord:
        with unique("role", name), self.db.session() as s:
            role = Role(name=name, description=description)
            s.add(role)
            s.flush()
            return RoleRecord.of(role)

    def update_role(self, role_id: str, changes: dict[str, Any]) -> RoleRecord:
        with unique("role", changes.get("name", "")), self.db.session() as s:
            role = get(s, Role, role_id, "role")
            _mutable(role, "update")
            set_fields(role, changes, ("name", "description"))
            s.flush()
            return RoleRecord.of(role)

    def delete_role(self, role_id: str) -> None:
        """The role and every assignment of it; tokens lose it at their next validation."""
        with self.db.session() as s:
            role = get(s, Role, role_id, "role")
            _mutable(role, "delete")
            s.execute(delete(RoleAssignment).where(RoleAssignment.role_id == role_id))
            s.delete(role)


class RoleService(ServiceBase):
    async def list_roles(self, ctx: RequestContext, url: str,
                         name: str | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_roles")
        return [views.role(url, r) for r in await self.run(self.store.list_roles, name=name)]

    async def create_role(self, ctx: RequestContext, url: str, body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:create_role")
        part = bodies.section(body, "role")
        fields = bodies.changes(part, ("description",), "role")
        created = await self.run(self.store.create_role, bodies.name(part, "role"),
                                 fields.get("description") or "")
        return views.role(url, created)

    async def get_role(self, ctx: RequestContext, url: str, role_id: str) -> dict[str, Any]:
        enforce(ctx, "identity:get_role")
        return views.role(url, await self.run(self.store.get_role, role_id))

    async def update_role(self, ctx: RequestContext, url: str, role_id: str,
                          body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:update_role")
        changes = bodies.changes(bodies.section(body, "role"), ("name", "description"), "role")
        return views.role(url, await self.run(self.store.update_role, role_id, changes))

    async def delete_role(self, ctx: RequestContext, role_id: str) -> None:
        enforce(ctx, "identity:delete_role")
        await self.run(self.store.delete_role, role_id)
