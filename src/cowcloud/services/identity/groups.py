"""Groups and their members (a member holds every role granted to the group): their store and
their API. Grants to groups are grants.py's, with users'."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...db.errors import Duplicate
from ...db.models import Domain, Group, User, UserGroupMembership
from ..context import RequestContext
from ..errors import Invalid, NotFound
from ..policy import enforce
from . import bodies, views
from .base import ServiceBase, Store
from .common import DEFAULT_DOMAIN_ID, changed_meanwhile, filtered, get, set_fields, unique
from .grants import forget_actors
from .records import GroupRecord, UserRecord


class GroupStore(Store):
    def list_groups(self, name: str | None = None,
                    domain_id: str | None = None) -> list[GroupRecord]:
        with self.db.session() as s:
            return [GroupRecord.of(g) for g in filtered(s, Group, name=name, domain_id=domain_id)]

    def get_group(self, group_id: str) -> GroupRecord:
        with self.db.session() as s:
            return GroupRecord.of(get(s, Group, group_id, "group"))

    def create_group(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                     description: str = "") -> GroupRecord:
        with unique("group", name), self.db.session() as s:
            get(s, Domain, domain_id, "domain")
            group = Group(name=name, domain_id=domain_id, description=description)
            s.add(group)
            s.flush()
            return GroupRecord.of(group)

    def update_group(self, group_id: str, changes: dict[str, Any]) -> GroupRecord:
        with unique("group", changes.get("name", "")), self.db.session() as s:
            group = get(s, Group, group_id, "group")
            set_fields(group, changes, ("name", "description"))
            s.flush()
            return GroupRecord.of(group)

    def delete_group(self, group_id: str) -> None:
        """The group, its memberships (the foreign key cascades) and its grants; its members'
        tokens lose the group's roles at their next validation."""
        with self.db.session() as s:
            s.delete(get(s, Group, group_id, "group"))
            s.flush()  # the row first: a grant being made for it waits for this (lock_actor)
            forget_actors(s, "group", [group_id])

    def add_member(self, group_id: str, user_id: str) -> None:
        try:
            with self.db.session() as s:
                get(s, Group, group_id, "group")
                get(s, User, user_id, "user")
                if s.get(UserGroupMembership, (user_id, group_id)) is None:
                    s.add(UserGroupMembership(user_id=user_id, group_id=group_id))
        except Duplicate:
            # raced: the same membership added at once (done, as PUT asks), or the user or
            # group deleted at once (the check again says 404)
            if not self.is_member(group_id, user_id):
                with changed_meanwhile("group", group_id), self.db.session() as s:
                    get(s, Group, group_id, "group")
                    get(s, User, user_id, "user")
                    s.add(UserGroupMembership(user_id=user_id, group_id=group_id))

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Keystone's check: 404 for an unknown group or user, False for a non-member."""
        with self.db.session() as s:
            get(s, Group, group_id, "group")
            get(s, User, user_id, "user")
            return s.get(UserGroupMembership, (user_id, group_id)) is not None

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            get(s, Group, group_id, "group")
            get(s, User, user_id, "user")
            membership = s.get(UserGroupMembership, (user_id, group_id))
            if membership is None:
                raise NotFound(f"Could not find user, {user_id}, in group {group_id}.")
            s.delete(membership)

    def group_members(self, group_id: str) -> list[UserRecord]:
        with self.db.session() as s:
            get(s, Group, group_id, "group")
            return [UserRecord.of(u) for u in s.scalars(select(User).join(UserGroupMembership)
                    .where(UserGroupMembership.group_id == group_id).order_by(User.name))]

    def user_groups(self, user_id: str) -> list[GroupRecord]:
        with self.db.session() as s:
            get(s, User, user_id, "user")
            return [GroupRecord.of(g) for g in s.scalars(select(Group).join(UserGroupMembership)
                    .where(UserGroupMembership.user_id == user_id).order_by(Group.name))]


class GroupService(ServiceBase):
    async def list_groups(self, ctx: RequestContext, url: str, name: str | None = None,
                          domain_id: str | None = None) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_groups")
        found = await self.run(self.store.list_groups, name=name, domain_id=domain_id)
        return [views.group(url, g) for g in found]

    async def create_group(self, ctx: RequestContext, url: str, body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:create_group")
        part = bodies.section(body, "group")
        fields = bodies.changes(part, ("description", "domain_id"), "group")
        created = await self.run(self.store.create_group,
                                 bodies.name(part, "group", bodies.LONG_NAME),
                                 fields.get("domain_id") or ctx.domain_id or DEFAULT_DOMAIN_ID,
                                 fields.get("description") or "")
        return views.group(url, created)

    async def get_group(self, ctx: RequestContext, url: str, group_id: str) -> dict[str, Any]:
        found = await self.fetch_enforced(ctx, "identity:get_group",
                                          lambda: self.store.get_group(group_id),
                                          lambda g: {"group_id": g.id, "domain_id": g.domain_id})
        return views.group(url, found)

    async def update_group(self, ctx: RequestContext, url: str, group_id: str,
                           body: Any) -> dict[str, Any]:
        enforce(ctx, "identity:update_group", {"group_id": group_id})
        part = bodies.section(body, "group")
        changes = bodies.changes(part, ("name", "description"), "group")
        if "domain_id" in part and \
                part["domain_id"] != (await self.run(self.store.get_group, group_id)).domain_id:
            raise Invalid("Cannot change Domain ID of a group.")  # as Keystone refuses it
        return views.group(url, await self.run(self.store.update_group, group_id, changes))

    async def delete_group(self, ctx: RequestContext, group_id: str) -> None:
        enforce(ctx, "identity:delete_group", {"group_id": group_id})
        await self.run(self.store.delete_group, group_id)

    # --- membership ----------------------------------------------------------------------------

    async def list_users_in_group(self, ctx: RequestContext, url: str,
                                  group_id: str) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_users_in_group", {"group_id": group_id})
        return [views.user(url, u) for u in await self.run(self.store.group_members, group_id)]

    async def add_user_to_group(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        enforce(ctx, "identity:add_user_to_group", {"group_id": group_id, "user_id": user_id})
        await self.run(self.store.add_member, group_id, user_id)

    async def check_user_in_group(self, ctx: RequestContext, group_id: str,
                                  user_id: str) -> None:
        enforce(ctx, "identity:check_user_in_group", {"group_id": group_id, "user_id": user_id})
        if not await self.run(self.store.is_member, group_id, user_id):
            raise NotFound(f"Could not find user, {user_id}, in group {group_id}.")

    async def remove_user_from_group(self, ctx: RequestContext, group_id: str,
                                     user_id: str) -> None:
        enforce(ctx, "identity:remove_user_from_group",
                {"group_id": group_id, "user_id": user_id})
        await self.run(self.store.remove_member, group_id, user_id)

    async def list_groups_for_user(self, ctx: RequestContext, url: str,
                                   user_id: str) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_groups_for_user", {"user_id": user_id})
        return [views.group(url, g, membership=True)
                for g in await self.run(self.store.user_groups, user_id)]
