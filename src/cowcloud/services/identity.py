"""Identity: domains, projects, users, groups, roles, role assignments, and the first-start
bootstrap.

Every method is one short transaction. Roles admin > member > reader imply one another as in
Keystone's bootstrap: an admin's token also carries member and reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import Database
from ..db.models import (
    Base,
    Domain,
    Group,
    GroupAssignment,
    Project,
    Role,
    RoleAssignment,
    User,
    UserGroupMembership,
    utcnow,
)
from .errors import AuthenticationFailed, Conflict, Denied, Invalid, NotFound
from .passwords import hash_secret, random_secret, verify_secret


def plain(value: Any) -> bool:
    """An id or name from a request fit for a query: a string, not too long, without NUL."""
    return isinstance(value, str) and len(value) <= 255 and "\x00" not in value


DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
ADMIN = "admin"
BUILTIN_ROLES = ("admin", "member", "reader")
IMPLIES = {"admin": "member", "member": "reader"}
ENV_ADMIN_PASSWORD = "COWCLOUD_ADMIN_PASSWORD"
ADMIN_PASSWORD_FILE = "admin-password"

M = TypeVar("M", bound=Base)


def _get(s: Session, model: type[M], key: str | None, what: str) -> M:
    # an id from a URL with a NUL (or too long to be one) names nothing: no query, which
    # PostgreSQL would refuse with a 500
    row = s.get(model, key) if key and plain(key) else None
    if row is None:
        raise NotFound(f"Could not find {what}: {key}.")
    return row


def _filtered(s: Session, model: type[M], **filters: Any) -> list[M]:
    query = select(model)
    for name, value in filters.items():
        if isinstance(value, str) and not plain(value):
            return []  # ?name=a%00b matches nothing (and would fail on PostgreSQL)
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return list(s.scalars(query.order_by(model.name)))  # type: ignore[attr-defined]


@contextmanager
def _unique(what: str, name: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"Conflict occurred attempting to store {what} - duplicate entry "
                       f"'{name}'.") from exc


@contextmanager
def _changed_meanwhile(what: str, key: str) -> Iterator[None]:
    """A write that a concurrent one made impossible (a foreign key now dangling, a unique row
    now taken): 409, the caller may look again and retry."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"The {what} {key} was changed by another request at the same time; "
                       "try again.") from exc


def expand_implied(names: Iterable[str]) -> set[str]:
    out = set()
    for name in names:
        while name and name not in out:
            out.add(name)
            name = IMPLIES.get(name, "")
    return out


@dataclass(frozen=True)
class Assignment:
    """One (user or group, role, project or domain) assignment, with the rows it names."""

    user: User | None  # None for a group's assignment
    user_domain: Domain | None
    role: Role
    project: Project | None
    domain: Domain | None  # the scope of a domain assignment, or the domain of the project
    group: Group | None = None  # the group assigned (listing without ?effective)
    group_domain: Domain | None = None
    via_group: str | None = None  # an effective user assignment held through this group's


def _grant_model(actor: str) -> tuple[Any, Any]:
    """The assignment table and its actor column for 'user' or 'group'."""
    if actor == "group":
        return GroupAssignment, GroupAssignment.group_id
    return RoleAssignment, RoleAssignment.user_id


class Identity:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- domains -------------------------------------------------------------------------------

    def list_domains(self, name: str | None = None, enabled: bool | None = None) -> list[Domain]:
        with self.db.session() as s:
            return _filtered(s, Domain, name=name, enabled=enabled)

    def get_domain(self, domain_id: str) -> Domain:
        with self.db.session() as s:
            return _get(s, Domain, domain_id, "domain")

    def create_domain(self, name: str, description: str = "", enabled: bool = True) -> Domain:
        with _unique("domain", name), self.db.session() as s:
            domain = Domain(name=name, description=description, enabled=enabled)
            s.add(domain)
            s.flush()
            return domain

    def update_domain(self, domain_id: str, changes: dict[str, Any]) -> Domain:
        if domain_id == DEFAULT_DOMAIN_ID and changes.get("enabled") is False:
            # the admin user lives there: disabling it ends every admin token, and no API call
            # could enable it again (Keystone allows it; its bootstrap is how you get back in)
            raise Denied("Cannot disable the default domain: it holds the admin user.")
        with _unique("domain", changes.get("name", "")), self.db.session() as s:
            domain = _get(s, Domain, domain_id, "domain")
            for key in ("name", "description", "enabled"):
                if key in changes:
                    setattr(domain, key, changes[key])
            return domain

    def delete_domain(self, domain_id: str) -> None:
        """Keystone's delete: only a disabled domain, and with it its projects and users, their
        role assignments and application credentials (the foreign keys cascade to those).
        A project or user created in it meanwhile makes the delete fail: a 409, nothing gone."""
        with _changed_meanwhile("domain", domain_id), self.db.session() as s:
            domain = _get(s, Domain, domain_id, "domain")
            if domain.id == DEFAULT_DOMAIN_ID:  # the bootstrap's, holding the admin
                raise Denied("Cannot delete the default domain.")
            if domain.enabled:  # Keystone's guard against a slip, in Keystone's words
                raise Denied("Cannot delete a domain that is enabled, please disable it first.")
            projects = select(Project.id).where(Project.domain_id == domain_id)
            for model in (RoleAssignment, GroupAssignment):
                s.execute(delete(model).where(model.target_type == "project",
                                              model.target_id.in_(projects)))
                s.execute(delete(model).where(model.target_type == "domain",
                                              model.target_id == domain_id))
            # the domain's groups, with their memberships and grants (the foreign keys cascade)
            s.execute(delete(Group).where(Group.domain_id == domain_id))
            s.execute(delete(User).where(User.domain_id == domain_id))
            s.execute(delete(Project).where(Project.domain_id == domain_id))
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

    # --- projects ------------------------------------------------------------------------------

    def list_projects(self, name: str | None = None, domain_id: str | None = None,
                      enabled: bool | None = None) -> list[Project]:
        with self.db.session() as s:
            return _filtered(s, Project, name=name, domain_id=domain_id, enabled=enabled)

    def get_project(self, project_id: str) -> Project:
        with self.db.session() as s:
            return _get(s, Project, project_id, "project")

    def create_project(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                       description: str = "", enabled: bool = True) -> Project:
        with _unique("project", name), self.db.session() as s:
            _get(s, Domain, domain_id, "domain")
            project = Project(name=name, domain_id=domain_id, description=description,
                              enabled=enabled)
            s.add(project)
            s.flush()
            return project

    def update_project(self, project_id: str, changes: dict[str, Any]) -> Project:
        with _unique("project", changes.get("name", "")), self.db.session() as s:
            project = _get(s, Project, project_id, "project")
            for key in ("name", "description", "enabled"):
                if key in changes:
                    setattr(project, key, changes[key])
            return project

    def delete_project(self, project_id: str) -> None:
        with self.db.session() as s:
            s.delete(_get(s, Project, project_id, "project"))
            for model in (RoleAssignment, GroupAssignment):
                s.execute(delete(model).where(model.target_type == "project",
                                              model.target_id == project_id))

    # --- users ---------------------------------------------------------------------------------

    def list_users(self, name: str | None = None, domain_id: str | None = None,
                   enabled: bool | None = None) -> list[User]:
        with self.db.session() as s:
            return _filtered(s, User, name=name, domain_id=domain_id, enabled=enabled)

    def get_user(self, user_id: str) -> User:
        with self.db.session() as s:
            return _get(s, User, user_id, "user")

    def create_user(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                    password: str | None = None, **fields: Any) -> User:
        password_hash = hash_secret(password) if password else None  # outside the transaction
        with _unique("user", name), self.db.session() as s:
            _get(s, Domain, domain_id, "domain")
            if fields.get("default_project_id"):
                _get(s, Project, fields["default_project_id"], "project")
            user = User(name=name, domain_id=domain_id, password_hash=password_hash, **fields)
            s.add(user)
            s.flush()
            return user

    def update_user(self, user_id: str, changes: dict[str, Any]) -> User:
        password_hash = hash_secret(changes["password"]) if changes.get("password") else None
        with _unique("user", changes.get("name", "")), self.db.session() as s:
            user = _get(s, User, user_id, "user")
            if changes.get("default_project_id"):
                _get(s, Project, changes["default_project_id"], "project")
            for key in ("name", "email", "description", "enabled", "default_project_id"):
                if key in changes:
                    setattr(user, key, changes[key])
            if password_hash:
                user.password_hash = password_hash
                user.tokens_valid_after = utcnow()  # the old password's tokens end with it
            return user

    def change_password(self, user_id: str, original: str, password: str) -> None:
        """The user's own change: refused (401, like a failed login) unless `original` matches."""
        if not verify_secret(self.get_user(user_id).password_hash, original):
            raise AuthenticationFailed()
        self.update_user(user_id, {"password": password})

    def delete_user(self, user_id: str) -> None:
        with self.db.session() as s:
            s.delete(_get(s, User, user_id, "user"))

    # --- roles and assignments -----------------------------------------------------------------

    def list_roles(self, name: str | None = None) -> list[Role]:
        with self.db.session() as s:
            return _filtered(s, Role, name=name)

    def get_role(self, role_id: str) -> Role:
        with self.db.session() as s:
            return _get(s, Role, role_id, "role")

    def create_role(self, name: str, description: str = "") -> Role:
        with _unique("role", name), self.db.session() as s:
            role = Role(name=name, description=description)
            s.add(role)
            s.flush()
            return role

    @staticmethod
    def _mutable(role: Role, action: str) -> None:
        """The built-in roles are what Keystone's bootstrap makes immutable: the policy and the
        implied roles name them. Here they stay so (there is no option to unset)."""
        if role.name in BUILTIN_ROLES:
            raise Denied(f"Unable to {action} immutable role resource: `{role.id}`. The roles "
                         f"{', '.join(BUILTIN_ROLES)} are immutable.")

    def update_role(self, role_id: str, changes: dict[str, Any]) -> Role:
        with _unique("role", changes.get("name", "")), self.db.session() as s:
            role = _get(s, Role, role_id, "role")
            self._mutable(role, "update")
            for key in ("name", "description"):
                if key in changes:
                    setattr(role, key, changes[key])
            return role

    def delete_role(self, role_id: str) -> None:
        """The role and every assignment of it; tokens lose it at their next validation."""
        with self.db.session() as s:
            role = _get(s, Role, role_id, "role")
            self._mutable(role, "delete")
            s.execute(delete(RoleAssignment).where(RoleAssignment.role_id == role_id))
            s.execute(delete(GroupAssignment).where(GroupAssignment.role_id == role_id))
            s.delete(role)

    def _target(self, s: Session, target_type: str, target_id: str) -> Project | Domain:
        if target_type == "project":
            return _get(s, Project, target_id, "project")
        if target_type == "domain":
            return _get(s, Domain, target_id, "domain")
        raise Invalid(f"unknown assignment target {target_type!r}")

    def _actor(self, s: Session, actor: str, actor_id: str) -> User | Group:
        if actor == "group":
            return _get(s, Group, actor_id, "group")
        return _get(s, User, actor_id, "user")

    def add_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                  actor: str = "user") -> None:
        """A role for a user (or, with actor="group", a group) on a project or domain."""
        try:
            self._add_grant(actor_id, target_type, target_id, role_id, actor)
        except IntegrityError:
            # raced: the same grant made at once (done, as PUT asks), or its user, group or
            # role deleted at once (the check again says 404)
            if not self.has_grant(actor_id, target_type, target_id, role_id, actor):
                with _changed_meanwhile("role", role_id):
                    self._add_grant(actor_id, target_type, target_id, role_id, actor)

    def _add_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                   actor: str) -> None:
        with self.db.session() as s:
            self._actor(s, actor, actor_id)
            _get(s, Role, role_id, "role")
            self._target(s, target_type, target_id)
            if not self._grant(s, actor_id, target_type, target_id, role_id, actor):
                model, _ = _grant_model(actor)
                s.add(model(**{f"{actor}_id": actor_id}, target_type=target_type,
                            target_id=target_id, role_id=role_id))

    def remove_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                     actor: str = "user") -> None:
        with self.db.session() as s:
            grant = self._grant(s, actor_id, target_type, target_id, role_id, actor)
            if grant is None:
                raise NotFound(f"Could not find role assignment: role {role_id} for {actor} "
                               f"{actor_id} on {target_type} {target_id}.")
            s.delete(grant)

    def has_grant(self, actor_id: str, target_type: str, target_id: str, role_id: str,
                  actor: str = "user") -> bool:
        with self.db.session() as s:
            return self._grant(s, actor_id, target_type, target_id, role_id, actor) is not None

    @staticmethod
    def _grant(s: Session, actor_id: str, target_type: str, target_id: str, role_id: str,
               actor: str = "user") -> RoleAssignment | GroupAssignment | None:
        if not all(plain(v) for v in (actor_id, target_id, role_id)):
            return None
        model, column = _grant_model(actor)
        return s.scalar(select(model).where(
            column == actor_id, model.target_type == target_type,
            model.target_id == target_id, model.role_id == role_id))

    def list_grants(self, actor_id: str, target_type: str, target_id: str,
                    actor: str = "user") -> list[Role]:
        with self.db.session() as s:
            self._actor(s, actor, actor_id)
            self._target(s, target_type, target_id)
            model, column = _grant_model(actor)
            return list(s.scalars(select(Role).join(model).where(
                column == actor_id, model.target_type == target_type,
                model.target_id == target_id).order_by(Role.name)))

    @staticmethod
    def _group_grants_of(user_id: str) -> Any:
        """The group assignments a user holds through membership (a query to filter on)."""
        return select(GroupAssignment).join(
            UserGroupMembership, UserGroupMembership.group_id == GroupAssignment.group_id
        ).where(UserGroupMembership.user_id == user_id)

    @staticmethod
    def roles_on(s: Session, user_id: str, target_type: str, target_id: str) -> list[Role]:
        """The user's effective roles on a project or domain: direct ones, those granted to
        the user's groups, and those implied."""
        direct = select(Role.name).join(RoleAssignment).where(
            RoleAssignment.user_id == user_id, RoleAssignment.target_type == target_type,
            RoleAssignment.target_id == target_id)
        via_groups = Identity._group_grants_of(user_id).subquery()
        grouped = select(Role.name).join(via_groups, via_groups.c.role_id == Role.id).where(
            via_groups.c.target_type == target_type, via_groups.c.target_id == target_id)
        names = expand_implied(s.scalars(union(direct, grouped)))
        if not names:
            return []
        return list(s.scalars(select(Role).where(Role.name.in_(names)).order_by(Role.name)))

    def list_assignments(self, user_id: str | None = None, project_id: str | None = None,
                         domain_id: str | None = None, role_id: str | None = None,
                         effective: bool = False, group_id: str | None = None) -> list[Assignment]:
        """Keystone's /v3/role_assignments. Without `effective`: user and group assignments as
        granted. With it: each group assignment becomes one per member (`via_group`), implied
        roles are added, and group assignments themselves are not listed."""
        if not all(plain(v) for v in (user_id, project_id, domain_id, group_id) if v):
            return []  # ?user.id=a%00b matches nothing (and would fail on PostgreSQL)
        if effective and group_id:
            raise Invalid("Combining effective and group filter will always result in an "
                          "empty list.")
        with self.db.session() as s:
            roles = {r.name: r for r in s.scalars(select(Role))}
            grants: list[tuple[RoleAssignment | GroupAssignment, Role]] = []
            if not group_id:
                query = select(RoleAssignment, Role).join(Role)
                if user_id:
                    query = query.where(RoleAssignment.user_id == user_id)
                grants += [(g, r) for g, r in s.execute(query.order_by(RoleAssignment.id))]
            if not (user_id and not effective):
                by_group = select(GroupAssignment, Role).join(Role)
                if group_id:
                    by_group = by_group.where(GroupAssignment.group_id == group_id)
                grants += [(g, r) for g, r in s.execute(by_group.order_by(GroupAssignment.id))]
            out: list[Assignment] = []
            seen: set[tuple[str, ...]] = set()
            for grant, role in grants:
                if project_id and (grant.target_type, grant.target_id) != ("project", project_id):
                    continue
                if domain_id and (grant.target_type, grant.target_id) != ("domain", domain_id):
                    continue
                is_project = grant.target_type == "project"
                project = s.get(Project, grant.target_id) if is_project else None
                domain = s.get(Domain, project.domain_id if project else grant.target_id)
                names = expand_implied([role.name]) if effective else [role.name]
                if isinstance(grant, RoleAssignment):
                    holders: list[tuple[User | None, str | None]] = [
                        (s.get(User, grant.user_id), None)]
                    group = None
                elif effective:
                    members = select(User).join(UserGroupMembership).where(
                        UserGroupMembership.group_id == grant.group_id).order_by(User.name)
                    if user_id:
                        members = members.where(User.id == user_id)
                    holders = [(u, grant.group_id) for u in s.scalars(members)]
                    group = None
                else:
                    holders, group = [(None, None)], s.get(Group, grant.group_id)
                for user, via in holders:
                    user_domain = s.get(Domain, user.domain_id) if user else None
                    group_domain = s.get(Domain, group.domain_id) if group else None
                    actor = user.id if user else f"group:{group.id if group else ''}"
                    for name in names:
                        key = (actor, via or "", name, grant.target_type, grant.target_id)
                        if name in roles and key not in seen:
                            seen.add(key)
                            out.append(Assignment(user, user_domain, roles[name], project,
                                                  domain, group, group_domain, via))
            return [a for a in out if role_id is None or a.role.id == role_id]

    def user_projects(self, user_id: str, enabled_only: bool = False) -> list[Project]:
        """Projects where the user holds any role, directly or through a group (enabled ones
        only, for scoping a token)."""
        with self.db.session() as s:
            via_groups = self._group_grants_of(user_id).subquery()
            direct = select(RoleAssignment.target_id).where(
                RoleAssignment.target_type == "project", RoleAssignment.user_id == user_id)
            grouped = select(via_groups.c.target_id).where(via_groups.c.target_type == "project")
            query = select(Project).where(Project.id.in_(union(direct, grouped))) \
                .order_by(Project.name)
            if enabled_only:
                query = query.join(Domain).where(Project.enabled, Domain.enabled)
            return list(s.scalars(query))

    def user_domains(self, user_id: str) -> list[Domain]:
        with self.db.session() as s:
            via_groups = self._group_grants_of(user_id).subquery()
            direct = select(RoleAssignment.target_id).where(
                RoleAssignment.target_type == "domain", RoleAssignment.user_id == user_id)
            grouped = select(via_groups.c.target_id).where(via_groups.c.target_type == "domain")
            return list(s.scalars(select(Domain).where(
                Domain.id.in_(union(direct, grouped)), Domain.enabled).order_by(Domain.name)))

    # --- groups --------------------------------------------------------------------------------

    def list_groups(self, name: str | None = None, domain_id: str | None = None) -> list[Group]:
        with self.db.session() as s:
            return _filtered(s, Group, name=name, domain_id=domain_id)

    def get_group(self, group_id: str) -> Group:
        with self.db.session() as s:
            return _get(s, Group, group_id, "group")

    def create_group(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                     description: str = "") -> Group:
        with _unique("group", name), self.db.session() as s:
            _get(s, Domain, domain_id, "domain")
            group = Group(name=name, domain_id=domain_id, description=description)
            s.add(group)
            s.flush()
            return group

    def update_group(self, group_id: str, changes: dict[str, Any]) -> Group:
        with _unique("group", changes.get("name", "")), self.db.session() as s:
            group = _get(s, Group, group_id, "group")
            for key in ("name", "description"):
                if key in changes:
                    setattr(group, key, changes[key])
            return group

    def delete_group(self, group_id: str) -> None:
        """The group, its memberships and its grants (the foreign keys cascade); its members'
        tokens lose the group's roles at their next validation."""
        with self.db.session() as s:
            s.delete(_get(s, Group, group_id, "group"))

    def add_member(self, group_id: str, user_id: str) -> None:
        try:
            with self.db.session() as s:
                _get(s, Group, group_id, "group")
                _get(s, User, user_id, "user")
                if s.get(UserGroupMembership, (user_id, group_id)) is None:
                    s.add(UserGroupMembership(user_id=user_id, group_id=group_id))
        except IntegrityError:
            # raced: the same membership added at once (done, as PUT asks), or the user or
            # group deleted at once (the check again says 404)
            if not self.is_member(group_id, user_id):
                with _changed_meanwhile("group", group_id), self.db.session() as s:
                    _get(s, Group, group_id, "group")
                    _get(s, User, user_id, "user")
                    s.add(UserGroupMembership(user_id=user_id, group_id=group_id))

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Keystone's check: 404 for an unknown group or user, False for a non-member."""
        with self.db.session() as s:
            _get(s, Group, group_id, "group")
            _get(s, User, user_id, "user")
            return s.get(UserGroupMembership, (user_id, group_id)) is not None

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            _get(s, Group, group_id, "group")
            _get(s, User, user_id, "user")
            membership = s.get(UserGroupMembership, (user_id, group_id))
            if membership is None:
                raise NotFound(f"Could not find user, {user_id}, in group {group_id}.")
            s.delete(membership)

    def group_members(self, group_id: str) -> list[User]:
        with self.db.session() as s:
            _get(s, Group, group_id, "group")
            return list(s.scalars(select(User).join(UserGroupMembership).where(
                UserGroupMembership.group_id == group_id).order_by(User.name)))

    def user_groups(self, user_id: str) -> list[Group]:
        with self.db.session() as s:
            _get(s, User, user_id, "user")
            return list(s.scalars(select(Group).join(UserGroupMembership).where(
                UserGroupMembership.user_id == user_id).order_by(Group.name)))


# --- first start -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BootstrapResult:
    user: str
    project: str
    domain: str
    password: str | None  # None: the admin exists and its password is nowhere we can read
    password_source: str  # "$COWCLOUD_ADMIN_PASSWORD", the password file's path, or "unknown"


def _read_or_make_password(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    password = random_secret(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def bootstrap(db: Database, settings: Settings,
              admin_password: str | None = None) -> BootstrapResult:
    """The Default domain (id `default`), roles admin/member/reader, project `admin` and user
    `admin` holding the admin role on it. Idempotent: a restart finds them and changes nothing,
    except that a given `admin_password` (from $COWCLOUD_ADMIN_PASSWORD) becomes the password.
    Without one, a random password is made once and kept in DATA_DIR/admin-password (0600).
    """
    password_file = settings.server.data_dir / ADMIN_PASSWORD_FILE
    source = f"${ENV_ADMIN_PASSWORD}" if admin_password else str(password_file)
    with db.session() as s:
        domain = s.get(Domain, DEFAULT_DOMAIN_ID)
        if domain is None:
            domain = Domain(id=DEFAULT_DOMAIN_ID, name=DEFAULT_DOMAIN_NAME,
                            description="The default domain")
            s.add(domain)
        domain_name = domain.name  # renamed through the API perhaps: clouds.yaml names it
        roles = {r.name: r for r in s.scalars(select(Role).where(Role.name.in_(BUILTIN_ROLES)))}
        for name in BUILTIN_ROLES:
            if name not in roles:
                roles[name] = Role(name=name)
                s.add(roles[name])
        project = s.scalar(select(Project).where(Project.domain_id == DEFAULT_DOMAIN_ID,
                                                 Project.name == ADMIN))
        if project is None:
            project = Project(name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
                              description="Bootstrap project for initializing the cloud.")
            s.add(project)
        user = s.scalar(select(User).where(User.domain_id == DEFAULT_DOMAIN_ID,
                                           User.name == ADMIN))
        password = admin_password
        if user is None:
            password = password or _read_or_make_password(password_file)
            user = User(name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
                        password_hash=hash_secret(password))
            s.add(user)
        elif password and not verify_secret(user.password_hash, password):
            user.password_hash = hash_secret(password)
        elif not password:
            password = password_file.read_text().strip() if password_file.exists() else None
            source = source if password else "unknown"
        s.flush()
        user.default_project_id = user.default_project_id or project.id
        if Identity._grant(s, user.id, "project", project.id, roles[ADMIN].id) is None:
            s.add(RoleAssignment(user_id=user.id, target_type="project", target_id=project.id,
                                 role_id=roles[ADMIN].id))
    return BootstrapResult(user=ADMIN, project=ADMIN, domain=domain_name,
                           password=password, password_source=source)
