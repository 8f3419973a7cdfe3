"""Records to Keystone v3 JSON: the field names keystoneauth, openstacksdk and the CLI parse.

`url` is where clients reach cowcloud (the API's public URL): Keystone's links are absolute.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..catalog import CatalogService, Endpoint
from .common import BUILTIN_ROLES
from .records import Assignment, DomainRecord, GroupRecord, ProjectRecord, RoleRecord, UserRecord

V3 = "/identity/v3"


def isotime(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else None


def naive_utc_time(when: datetime | None) -> str | None:
    """UTC without a zone suffix, microseconds always: how Keystone renders an application
    credential's expires_at (api-ref: sent "...:59Z", shown "...:59.000000"). A naive time sent
    with microseconds (as tempest and openstacksdk send utcnow()) comes back exactly as sent."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") if when else None


def v3_url(url: str, path: str = "") -> str:
    return f"{url}{V3}{path}"


def self_link(url: str, path: str) -> dict[str, str]:
    return {"self": v3_url(url, path)}


def domain_ref(domain: Any) -> dict[str, str]:
    return {"id": domain.id, "name": domain.name}


def domain(url: str, d: DomainRecord) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
            "tags": [], "options": {}, "links": self_link(url, f"/domains/{d.id}")}


def project(url: str, p: ProjectRecord) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
            "enabled": p.enabled, "parent_id": p.domain_id, "is_domain": False, "tags": [],
            "options": {}, "links": self_link(url, f"/projects/{p.id}")}


def user(url: str, u: UserRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "description": u.description, "password_expires_at": None, "options": {},
        "links": self_link(url, f"/users/{u.id}")}
    if u.default_project_id:
        out["default_project_id"] = u.default_project_id
    if u.email:
        out["email"] = u.email
    return out


def role(url: str, r: RoleRecord) -> dict[str, Any]:
    # the built-in roles are immutable, as Keystone's bootstrap makes them, and say so
    options = {"immutable": True} if r.name in BUILTIN_ROLES else {}
    return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description,
            "options": options, "links": self_link(url, f"/roles/{r.id}")}


def group(url: str, g: GroupRecord, membership: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": g.id, "name": g.name, "domain_id": g.domain_id,
                           "description": g.description,
                           "links": self_link(url, f"/groups/{g.id}")}
    if membership:  # GET /v3/users/{id}/groups: Keystone adds the (never set) expiry
        out["membership_expires_at"] = None
    return out


def assignment(url: str, a: Assignment, names: bool) -> dict[str, Any]:
    """A user's or a group's assignment; an effective one held through a group links to the
    group's assignment and to the membership, as Keystone's does."""
    target: ProjectRecord | DomainRecord
    kind, target = ("project", a.project) if a.project else ("domain", a.domain)
    role_part: dict[str, Any] = {"id": a.role.id}
    scope: dict[str, Any] = {"id": target.id}
    out: dict[str, Any] = {"role": role_part, "scope": {kind: scope}}
    if a.user is not None:
        actor = out["user"] = {"id": a.user.id}
        if names and a.user_domain is not None:
            actor.update(name=a.user.name, domain=domain_ref(a.user_domain))
    elif a.group is not None:
        actor = out["group"] = {"id": a.group.id}
        if names and a.group_domain is not None:
            actor.update(name=a.group.name, domain=domain_ref(a.group_domain))
    if names:
        role_part["name"] = a.role.name
        scope["name"] = target.name
        if a.project:
            scope["domain"] = domain_ref(a.domain)
    if a.group is not None or a.via_group is not None:
        group_id = a.group.id if a.group is not None else a.via_group
        links = {"assignment": v3_url(
            url, f"/{kind}s/{target.id}/groups/{group_id}/roles/{a.role.id}")}
        if a.via_group is not None and a.user is not None:
            links["membership"] = v3_url(url, f"/groups/{group_id}/users/{a.user.id}")
    else:
        assert a.user is not None
        links = {"assignment": v3_url(
            url, f"/{kind}s/{target.id}/users/{a.user.id}/roles/{a.role.id}")}
    out["links"] = links
    return out


def catalog(endpoints: list[Endpoint]) -> list[dict[str, Any]]:
    by_service: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        entry = by_service.setdefault(ep.service.id, {
            "id": ep.service.id, "type": ep.service.type, "name": ep.service.name,
            "endpoints": []})
        entry["endpoints"].append({"id": ep.id, "interface": ep.interface, "region": ep.region,
                                   "region_id": ep.region, "url": ep.url})
    return list(by_service.values())


def service(url: str, s: CatalogService) -> dict[str, Any]:
    return {"id": s.id, "type": s.type, "name": s.name, "description": s.description,
            "enabled": True, "links": self_link(url, f"/services/{s.id}")}


def endpoint(url: str, ep: Endpoint) -> dict[str, Any]:
    return {"id": ep.id, "interface": ep.interface, "region": ep.region,
            "region_id": ep.region, "service_id": ep.service.id, "url": ep.url,
            "enabled": True, "links": self_link(url, f"/endpoints/{ep.id}")}


def region(url: str, name: str) -> dict[str, Any]:
    return {"id": name, "description": "", "parent_region_id": None,
            "links": self_link(url, f"/regions/{name}")}
