"""What the identity services hand out: plain frozen records, read from rows inside the
transaction, so nothing outside services/identity holds (or lazily loads through) an ORM row."""

from __future__ import annotations

from dataclasses import dataclass

from ...db.models import Domain, Group, Project, Role, User


@dataclass(frozen=True)
class DomainRecord:
    id: str
    name: str
    description: str
    enabled: bool

    @classmethod
    def of(cls, d: Domain) -> DomainRecord:
        return cls(d.id, d.name, d.description, d.enabled)


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool

    @classmethod
    def of(cls, p: Project) -> ProjectRecord:
        return cls(p.id, p.name, p.domain_id, p.description, p.enabled)


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool
    email: str | None
    default_project_id: str | None

    @classmethod
    def of(cls, u: User) -> UserRecord:
        return cls(u.id, u.name, u.domain_id, u.description, u.enabled, u.email,
                   u.default_project_id)


@dataclass(frozen=True)
class RoleRecord:
    id: str
    name: str
    description: str

    @classmethod
    def of(cls, r: Role) -> RoleRecord:
        return cls(r.id, r.name, r.description)


@dataclass(frozen=True)
class GroupRecord:
    id: str
    name: str
    domain_id: str
    description: str

    @classmethod
    def of(cls, g: Group) -> GroupRecord:
        return cls(g.id, g.name, g.domain_id, g.description)


@dataclass(frozen=True)
class Assignment:
    """One (user or group, role, project or domain) assignment, with what it names."""

    user: UserRecord | None  # None for a group's assignment
    user_domain: DomainRecord | None
    role: RoleRecord
    project: ProjectRecord | None
    domain: DomainRecord  # the scope of a domain assignment, or the domain of the project
    group: GroupRecord | None = None  # the group assigned (listing without ?effective)
    group_domain: DomainRecord | None = None
    via_group: str | None = None  # an effective user assignment held through this group's

