"""Who is asking: the identity a validated token carries, handed to every service call."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    user_name: str
    project_id: str | None  # None for a domain-scoped or unscoped token
    project_name: str | None
    domain_id: str | None  # the scoped domain, for domain-scoped tokens
    roles: tuple[str, ...] = field(default_factory=tuple)
    audit_id: str = ""
    # the scoped project's domain (Keystone's token.project.domain.id: its members may read it)
    project_domain_id: str | None = None
    request_id: str = ""  # the X-Openstack-Request-Id of the request, kept by what outlives it

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def can_write(self) -> bool:
        return "admin" in self.roles or "member" in self.roles
