"""Grants: a role for a user or a group on a project or a domain (one table, both actors),
and what a user holds through them: roles on a scope, projects and domains; their store and
their API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from ...db.errors import Duplicate
from ...db.models import Domain, Group, Project, Role, RoleAssignment, User, UserGroupMembership
from ..context import RequestContext
from ..errors import Invalid, NotFound
from ..policy import enforce
from . import views
from .base import ServiceBase, Store
from .common import changed_meanwhile, expand_implied, get, plain
from .records import DomainRecord, ProjectRecord, RoleRecord

ACTORS: dict[str, tuple[type[Any], str]] = {"user": (User, "user"), "group": (Group, "group")}


def lock_actor(s: Session, actor: str, actor_id: str) -> User | Group:
    """The user or group, held until the transaction ends: its delete (which deletes its grants
    after it) waits, so no grant is left naming an actor that is gone."""
    model, what = ACTORS.get(actor, ACTORS["user"])
    return get(s, model, actor_id, what, lock=True)


def get_target(s: Session, target_type: str, target_id: str) -> Project | Domain:
    if target_type == "project":
        return get(s, Project, target_id, "project")
    if target_type == "domain":
        return get(s, Domain, target_id, "domain")
    raise Invalid(f"unknown assignment target {target_type!r}")


def find_grant(s: Session, actor_id: str, target_type: str, target_id: str, role_id: str,
               actor: str = "user") -> RoleAssignment | None:
    if not all(plain(v) for v in (actor_id, target_id, role_id)):
        return None
    return s.scalar(select(RoleAssignment).where(
        RoleAssignment.actor_type == actor, RoleAssignment.actor_id == actor_id,
        RoleAssignment.target_type == target_type, RoleAssignment.target_id == target_id,
        RoleAssignment.role_id == role_id))


def forget_actors(s: Session, actor: str, ids: Sequence[str]) -> None:
    """The grants of users or groups just deleted (in this transaction: see lock_actor)."""
    if ids:
        s.execute(delete(RoleAssignment).where(RoleAssignment.actor_type == actor,
                                               RoleAssignment.actor_id.in_(ids)))


def forget_targets(s: Session, target_type: str, ids: Sequence[str]) -> None:
    if ids:
        s.execute(delete(RoleAssignment).where(RoleAssignment.target_type == target_type,
                                               RoleAssignment.target_id.in_(ids)))


def group_grants_of(user_id: str) -> Any:
    """The group assignments a user holds through membership (a query to filter on)."""
    return select(RoleAssignment).join(
        UserGroupMembership, UserGroupMembership.group_id == RoleAssignment.actor_id
    ).where(RoleAssignment.actor_type == "group", UserGroupMembership.user_id == user_id)


def targets_of(user_id: str, target_type: str) -> Any:
    """The ids of the projects or domains where the user holds a role, directly or through a
    group (a query)."""
    via_groups = group_grants_of(user_id).subquery()
    direct = select(RoleAssignment.target_id).where(
        RoleAssignment.actor_type == "user", RoleAssignment.actor_id == user_id,
        RoleAssignment.target_type == target_type)
    grouped = select(via_groups.c.target_id).where(via_groups.c.target_type == target_type)
    return union(direct, grouped)


class GrantStore(Store):
    def add_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                  actor: str = "user") -> None:
        """A role for a user (or, with actor="group", a group) on a project or domain."""
        try:
            self._add_grant(actor_id, target_type, target_id, role_id, actor)
        except Duplicate:
            # raced: the same grant made at once (done, as PUT asks), or its role deleted at
            # once (the check again says 404)
            if not self.has_grant(actor_id, target_type, target_id, role_id, actor):
                with changed_meanwhile("role", role_id):
                    self._add_grant(actor_id, target_type, target_id, role_id, actor)

    def _add_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                   actor: str) -> None:
        with self.db.session() as s:
            lock_actor(s, actor, actor_id)
            get(s, Role, role_id, "role")
            get_target(s, target_type, target_id)
            if not find_grant(s, actor_id, target_type, target_id, role_id, actor):
                s.add(RoleAssignment(actor_type=actor, actor_id=actor_id,
                                     target_type=target_type, target_id=target_id,
                                     role_id=role_id))

    def remove_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                     actor: str = "user") -> None:
        with self.db.session() as s:
            grant = find_grant(s, actor_id, target_type, target_id, role_id, actor)
            if grant is None:
                raise NotFound(f"Could not find role assignment: role {role_id} for {actor} "
                               f"{actor_id} on {target_type} {target_id}.")
            s.delete(grant)

    def has_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                  actor: str = "user") -> bool:
        with self.db.session() as s:
            return find_grant(s, actor_id, target_type, target_id, role_id, actor) is not None

    def list_grants(self, actor_id: str, target_type: str, target_id: str,
                    actor: str = "user") -> list[RoleRecord]:
        with self.db.session() as s:
            model, what = ACTORS.get(actor, ACTORS["user"])
            get(s, model, actor_id, what)
            get_target(s, target_type, target_id)
            return [RoleRecord.of(r) for r in s.scalars(select(Role).join(RoleAssignment).where(
                RoleAssignment.actor_type == actor, RoleAssignment.actor_id == actor_id,
                RoleAssignment.target_type == target_type,
                RoleAssignment.target_id == target_id).order_by(Role.name))]

    @staticmethod
    def roles_on(s: Session, user_id: str, target_type: str, target_id: str) -> list[Role]:
        """The user's effective roles on a project or domain: direct ones, those granted to
        the user's groups, and those implied."""
        direct = select(Role.name).join(RoleAssignment).where(
            RoleAssignment.actor_type == "user", RoleAssignment.actor_id == user_id,
            RoleAssignment.target_type == target_type, RoleAssignment.target_id == target_id)
        via_groups = group_grants_of(user_id).subquery()
        grouped = select(Role.name).join(via_groups, via_groups.c.role_id == Role.id).where(
            via_groups.c.target_type == target_type, via_groups.c.target_id == target_id)
        names = expand_implied(s.scalars(union(direct, grouped)))
        if not names:
            return []
        return list(s.scalars(select(Role).where(Role.name.in_(names)).order_by(Role.name)))

    def user_projects(self, user_id: str, enabled_only: bool = False) -> list[ProjectRecord]:
        """Projects where the user holds any role, directly or through a group (enabled ones
        only, for scoping a token)."""
        with self.db.session() as s:
            query = select(Project).where(Project.id.in_(targets_of(user_id, "project"))) \
                .order_by(Project.name)
            if enabled_only:
                query = query.join(Domain).where(Project.enabled, Domain.enabled)
            return [ProjectRecord.of(p) for p in s.scalars(query)]

    def user_domains(self, user_id: str) -> list[DomainRecord]:
        with self.db.session() as s:
            return [DomainRecord.of(d) for d in s.scalars(select(Domain).where(
                Domain.id.in_(targets_of(user_id, "domain")), Domain.enabled
            ).order_by(Domain.name))]


GRANT_TARGETS = {"projects": "project", "domains": "domain"}
GRANT_ACTORS = {"users": "user", "groups": "group"}


def _grant_route(ctx: RequestContext, rule: str, kind: str, target_id: str, actors: str,
                 actor_id: str) -> tuple[str, str]:
    """(target type, actor) of /{kind}/{target_id}/{actors}/{actor_id}/roles..., enforced:
    a user's and a group's grants are the same routes, the same rules and the same checks."""
    if kind not in GRANT_TARGETS:
        raise NotFound(f"The resource could not be found: /{kind}")
    target_type = GRANT_TARGETS[kind]
    if actors not in GRANT_ACTORS:
        raise NotFound(f"The resource could not be found: /{kind}/{target_id}/{actors}")
    actor = GRANT_ACTORS[actors]
    enforce(ctx, rule, {f"{target_type}_id": target_id, f"{actor}_id": actor_id})
    return target_type, actor


class GrantService(ServiceBase):
    """/v3/{projects,domains}/{id}/{users,groups}/{id}/roles[/{role_id}] and
    /v3/role_assignments."""

    async def list_grants(self, ctx: RequestContext, url: str, kind: str, target_id: str,
                          actors: str, actor_id: str) -> list[dict[str, Any]]:
        target_type, actor = _grant_route(ctx, "identity:list_grants", kind, target_id,
                                          actors, actor_id)
        found = await self.run(self.store.list_grants, actor_id, target_type, target_id,
                               actor=actor)
        return [views.role(url, r) for r in found]

    async def create_grant(self, ctx: RequestContext, kind: str, target_id: str, actors: str,
                           actor_id: str, role_id: str) -> None:
        target_type, actor = _grant_route(ctx, "identity:create_grant", kind, target_id,
                                          actors, actor_id)
        await self.run(self.store.add_grant, actor_id, target_type, target_id, role_id,
                       actor=actor)

    async def check_grant(self, ctx: RequestContext, kind: str, target_id: str, actors: str,
                          actor_id: str, role_id: str) -> None:
        target_type, actor = _grant_route(ctx, "identity:check_grant", kind, target_id,
                                          actors, actor_id)
        if not await self.run(self.store.has_grant, actor_id, target_type, target_id, role_id,
                              actor=actor):
            raise NotFound(f"Could not find role assignment: role {role_id} for {actor} "
                           f"{actor_id}.")

    async def revoke_grant(self, ctx: RequestContext, kind: str, target_id: str, actors: str,
                           actor_id: str, role_id: str) -> None:
        target_type, actor = _grant_route(ctx, "identity:revoke_grant", kind, target_id,
                                          actors, actor_id)
        await self.run(self.store.remove_grant, actor_id, target_type, target_id, role_id,
                       actor=actor)

    async def list_role_assignments(self, ctx: RequestContext, url: str, *,
                                    user_id: str | None = None, project_id: str | None = None,
                                    domain_id: str | None = None, role_id: str | None = None,
                                    group_id: str | None = None, effective: bool = False,
                                    system_scope: bool = False,
                                    include_names: bool = False) -> list[dict[str, Any]]:
        enforce(ctx, "identity:list_role_assignments")
        if system_scope:
            return []  # no system scope here: nothing can match
        found = await self.run(self.store.list_assignments, user_id=user_id,
                               project_id=project_id, domain_id=domain_id, role_id=role_id,
                               effective=effective, group_id=group_id)
        return [views.assignment(url, a, include_names) for a in found]
