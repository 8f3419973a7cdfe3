"""Keystone's /v3/role_assignments: every grant, or every role each user effectively holds."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Domain, Group, Project, Role, RoleAssignment, User, UserGroupMembership
from ..errors import Invalid
from .base import Store
from .common import expand_implied, plain
from .records import Assignment, DomainRecord, GroupRecord, ProjectRecord, RoleRecord, UserRecord


def _holders(s: Session, grant: RoleAssignment, effective: bool, user_id: str | None
             ) -> tuple[list[tuple[User | None, str | None]], Group | None]:
    """(user, the group it holds the grant through) pairs, and the group a listing shows."""
    if grant.actor_type == "user":
        return [(s.get(User, grant.actor_id), None)], None
    if effective:  # a group's grant is one per member
        members = select(User).join(UserGroupMembership).where(
            UserGroupMembership.group_id == grant.actor_id).order_by(User.name)
        if user_id:
            members = members.where(User.id == user_id)
        return [(u, grant.actor_id) for u in s.scalars(members)], None
    return [(None, None)], s.get(Group, grant.actor_id)


def _grants(s: Session, user_id: str | None, group_id: str | None,
            effective: bool) -> list[tuple[RoleAssignment, Role]]:
    """Users' grants first, then groups', each in the order they were made."""
    out: list[tuple[RoleAssignment, Role]] = []
    if not group_id:
        query = select(RoleAssignment, Role).join(Role).where(RoleAssignment.actor_type == "user")
        if user_id:
            query = query.where(RoleAssignment.actor_id == user_id)
        out += [(g, r) for g, r in s.execute(query.order_by(RoleAssignment.id))]
    if not (user_id and not effective):
        query = select(RoleAssignment, Role).join(Role).where(
            RoleAssignment.actor_type == "group")
        if group_id:
            query = query.where(RoleAssignment.actor_id == group_id)
        out += [(g, r) for g, r in s.execute(query.order_by(RoleAssignment.id))]
    return out


class AssignmentStore(Store):
    def list_assignments(self, user_id: str | None = None, project_id: str | None = None,
                         domain_id: str | None = None, role_id: str | None = None,
                         effective: bool = False, group_id: str | None = None) -> list[Assignment]:
        """Without `effective`: user and group assignments as granted. With it: each group
        assignment becomes one per member (`via_group`), implied roles are added, and group
        assignments themselves are not listed."""
        if not all(plain(v) for v in (user_id, project_id, domain_id, group_id) if v):
            return []  # ?user.id=a%00b matches nothing (and would fail on PostgreSQL)
        if effective and group_id:
            raise Invalid("Combining effective and group filter will always result in an "
                          "empty list.")
        with self.db.session() as s:
            roles = {r.name: RoleRecord.of(r) for r in s.scalars(select(Role))}
            domains = {d.id: DomainRecord.of(d) for d in s.scalars(select(Domain))}
            out: list[Assignment] = []
            seen: set[tuple[str, ...]] = set()
            for grant, role in _grants(s, user_id, group_id, effective):
                if project_id and (grant.target_type, grant.target_id) != ("project", project_id):
                    continue
                if domain_id and (grant.target_type, grant.target_id) != ("domain", domain_id):
                    continue
                row = s.get(Project, grant.target_id) if grant.target_type == "project" else None
                project = ProjectRecord.of(row) if row else None
                domain = domains.get(project.domain_id if project else grant.target_id)
                if domain is None or (grant.target_type == "project" and project is None):
                    continue  # its target went while this was read
                names = expand_implied([role.name]) if effective else [role.name]
                holders, group_row = _holders(s, grant, effective, user_id)
                group = GroupRecord.of(group_row) if group_row else None
                for user_row, via in holders:
                    user = UserRecord.of(user_row) if user_row else None
                    if user_row is None and group is None:
                        continue  # its actor went while this was read
                    actor = user.id if user else f"group:{group.id if group else ''}"
                    for name in names:
                        key = (actor, via or "", name, grant.target_type, grant.target_id)
                        if name in roles and key not in seen:
                            seen.add(key)
                            out.append(Assignment(
                                user, domains.get(user.domain_id) if user else None,
                                roles[name], project, domain, group,
                                domains.get(group.domain_id) if group else None, via))
            return [a for a in out if role_id is None or a.role.id == role_id]
