"""Users: their records, passwords, and the end of their grants with them; their store and
their API."""

from __future__ import annotations

from typing import Any

from ...db.models import Domain, Project, User, utcnow
from ..context import RequestContext
from ..errors import AuthenticationFailed, Invalid
from ..passwords import hash_secret, verify_secret
from ..policy import enforce
from . import bodies, views
from .base import ServiceBase, Store
from .common import DEFAULT_DOMAIN_ID, filtered, get, set_fields, unique
from .grants import forget_actors
from .records import UserRecord


class UserStore(Store):
    def list_users(self, name: str | None = None, domain_id: str | None = None,
                   enabled: bool | None = None) -> list[UserRecord]:
        with self.db.session() as s:
            return [UserRecord.of(u) for u in filtered(s, User, name=name, domain_id=domain_id,
                                                       enabled=enabled)]

    def get_user(self, user_id: str) -> UserRecord:
        with self.db.session() as s:
            return UserRecord.of(get(s, User, user_id, "user"))

    def create_user(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                    password: str | None = None, **fields: Any) -> UserRecord:
        password_hash = hash_secret(password) if password else None  # outside the transaction
        with unique("user", name), self.db.session() as s:
            get(s, Domain, domain_id, "domain")
            if fields.get("default_project_id"):
                get(s, Project, fields["default_project_id"], "project")
            user = User(name=name, domain_id=domain_id, password_hash=password_hash, **fields)
            s.add(user)
            s.flush()
            return UserRecord.of(user)

    def update_user(self, user_id: str, changes: dict[str, Any]) -> UserRecord:
        password_hash = hash_secret(changes["password"]) if changes.get("password") else None
        with unique("user", changes.get("name", "")), self.db.session() as s:
            user = get(s, User, user_id, "user")
            if changes.get("default_project_id"):
                get(s, Project, changes["default_project_id"], "project")
            set_fields(user, changes,
                       ("name", "email", "description", "enabled", "default_project_id"))
            if password_hash:
                user.password_hash = password_hash
                user.tokens_valid_after = utcnow()  # the old password's tokens end with it
            s.flush()
            return UserRecord.of(user)

    def change_password(self, user_id: str, original: str, password: str) -> None:
        """The user's own change: refused (401, like a failed login) unless `original` matches."""
        with self.db.session() as s:
            password_hash = get(s, User, user_id, "user").password_hash
        if not verify_secret(password_hash, original):
            raise AuthenticationFailed()
        self.update_user(user_id, {"password": password})

    def delete_user(self, user_id: str) -> None:
        """The user, its memberships and application credentials (the foreign keys cascade)
        and its grants."""
        with self.db.session() as s:
            s.delete(get(s, User, user_id, "user"))
            s.flush()  # the row first: a grant being made for it waits for this (lock_actor)
            forget_actors(s, "user", [user_id])


USER_FIELDS = ("name", "password", "email", "description", "enabled", "default_project_id")


class UserService(ServiceBase):
    async def list_users(self, ctx: RequestContext, url: str, name: str | None = None,
                         domain_id: str | None = None,
                         enabled: bool | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_users")
        found = await self.run(self.store.list_users, name=name, domain_id=domain_id,
                               enabled=enabled)
        return [views.user(url, u) for u in found]

    async def create_user(self, ctx: RequestContext, url: str, body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:create_user")
        part = bodies.section(body, "user")
        fields = bodies.changes(part, USER_FIELDS[1:], "user")
        bodies.changes(part, ("domain_id",), "user")
        created = await self.run(self.store.create_user, bodies.name(part, "user"),
                                 part.get("domain_id") or ctx.domain_id or DEFAULT_DOMAIN_ID,
                                 **fields)
        return views.user(url, created)

    async def get_user(self, ctx: RequestContext, url: str, user_id: str) -> dict[str, Any]:
        found = await self.fetch_enforced(ctx, "identity:get_user",
                                          lambda: self.store.get_user(user_id),
                                          lambda u: {"user_id": u.id, "domain_id": u.domain_id})
        return views.user(url, found)

    async def update_user(self, ctx: RequestContext, url: str, user_id: str,
                          body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:update_user", {"user_id": user_id})
        changes = bodies.changes(bodies.section(body, "user"), USER_FIELDS, "user")
        return views.user(url, await self.run(self.store.update_user, user_id, changes))

    async def delete_user(self, ctx: RequestContext, user_id: str) -> None:
        enforce(ctx, "identity:delete_user", {"user_id": user_id})
        await self.run(self.store.delete_user, user_id)

    async def change_password(self, ctx: RequestContext, user_id: str, body: Any) -> None:
        enforce(ctx, "identity:change_password", {"user_id": user_id})
        part = bodies.section(body, "user")
        original, password = part.get("original_password"), part.get("password")
        if not (isinstance(original, str) and isinstance(password, str) and password):
            raise Invalid("user.original_password and user.password are required")
        await self.run(self.store.change_password, user_id, original, password)

    async def list_user_projects(self, ctx: RequestContext, url: str,
                                 user_id: str) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_user_projects", {"user_id": user_id})
        await self.run(self.store.get_user, user_id)
        found = await self.run(self.store.user_projects, user_id)
        return [views.project(url, p) for p in found]
