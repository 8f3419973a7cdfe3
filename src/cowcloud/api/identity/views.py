"""Rows to Keystone v3 JSON: the field names keystoneauth, openstacksdk and the CLI parse."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import Request

from ...db.models import ApplicationCredential, Domain, Group, Project, Role, User
from ...services.authn import TokenInfo
from ...services.catalog import Catalog, CatalogService, Endpoint
from ...services.errors import Invalid
from ...services.identity import BUILTIN_ROLES, Assignment
from ..auth import public_url
from ..bodies import has_lone_surrogate

V3 = "/identity/v3"


def isotime(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else None


def naive_utc_time(when: datetime | None) -> str | None:
    """UTC without a zone suffix, microseconds always: how Keystone renders an application
    credential's expires_at (api-ref: sent "...:59Z", shown "...:59.000000"). A naive time sent
    with microseconds (as tempest and openstacksdk send utcnow()) comes back exactly as sent."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") if when else None


def v3_url(request: Request, path: str = "") -> str:
    return f"{public_url(request)}{V3}{path}"


def self_link(request: Request, path: str) -> dict[str, str]:
    return {"self": v3_url(request, path)}


def collection(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "links": {"self": str(request.url), "previous": None, "next": None}}


def section(body: Any, key: str) -> dict[str, Any]:
    """The {"key": {...}} part of a request body, or a 400 naming what is missing."""
    part = body.get(key) if isinstance(body, dict) else None
    if not isinstance(part, dict):
        raise Invalid(f"Expecting to find {key} in request body.")
    if has_lone_surrogate(part):
        raise Invalid(f"Invalid input for {key}: a string holds a lone surrogate (an escape "
                      "from \\ud800 to \\udfff), which is not text.")
    return part


def flag(value: str | None) -> bool | None:
    """A boolean query filter (?enabled=true, ?enabled=False, ?effective)."""
    if value is None:
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def domain_ref(domain: Domain) -> dict[str, str]:
    return {"id": domain.id, "name": domain.name}


def domain_view(request: Request, d: Domain) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
            "tags": [], "options": {}, "links": self_link(request, f"/domains/{d.id}")}


def project_view(request: Request, p: Project) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
            "enabled": p.enabled, "parent_id": p.domain_id, "is_domain": False, "tags": [],
            "options": {}, "links": self_link(request, f"/projects/{p.id}")}


def user_view(request: Request, u: User) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "description": u.description, "password_expires_at": None, "options": {},
        "links": self_link(request, f"/users/{u.id}")}
    if u.default_project_id:
        out["default_project_id"] = u.default_project_id
    if u.email:
        out["email"] = u.email
    return out


def role_view(request: Request, r: Role) -> dict[str, Any]:
    # the built-in roles are immutable, as Keystone's bootstrap makes them, and say so
    options = {"immutable": True} if r.name in BUILTIN_ROLES else {}
    return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description,
            "options": options, "links": self_link(request, f"/roles/{r.id}")}


def group_view(request: Request, g: Group, membership: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": g.id, "name": g.name, "domain_id": g.domain_id,
                           "description": g.description,
                           "links": self_link(request, f"/groups/{g.id}")}
    if membership:  # GET /v3/users/{id}/groups: Keystone adds the (never set) expiry
        out["membership_expires_at"] = None
    return out


def assignment_view(request: Request, a: Assignment, names: bool) -> dict[str, Any]:
    """A user's or a group's assignment; an effective one held through a group links to the
    group's assignment and to the membership, as Keystone's does."""
    kind, target = ("project", a.project) if a.project else ("domain", a.domain)
    assert target is not None and a.domain is not None
    role: dict[str, Any] = {"id": a.role.id}
    scope: dict[str, Any] = {"id": target.id}
    out: dict[str, Any] = {"role": role, "scope": {kind: scope}}
    if a.user is not None:
        actor = out["user"] = {"id": a.user.id}
        if names and a.user_domain is not None:
            actor.update(name=a.user.name, domain=domain_ref(a.user_domain))
    elif a.group is not None:
        actor = out["group"] = {"id": a.group.id}
        if names and a.group_domain is not None:
            actor.update(name=a.group.name, domain=domain_ref(a.group_domain))
    if names:
        role["name"] = a.role.name
        scope["name"] = target.name
        if a.project:
            scope["domain"] = domain_ref(a.domain)
    if a.group is not None or a.via_group is not None:
        group_id = a.group.id if a.group is not None else a.via_group
        links = {"assignment": v3_url(
            request, f"/{kind}s/{target.id}/groups/{group_id}/roles/{a.role.id}")}
        if a.via_group is not None and a.user is not None:
            links["membership"] = v3_url(request, f"/groups/{group_id}/users/{a.user.id}")
    else:
        assert a.user is not None
        links = {"assignment": v3_url(
            request, f"/{kind}s/{target.id}/users/{a.user.id}/roles/{a.role.id}")}
    out["links"] = links
    return out


def catalog_view(endpoints: list[Endpoint]) -> list[dict[str, Any]]:
    by_service: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        entry = by_service.setdefault(ep.service.id, {
            "id": ep.service.id, "type": ep.service.type, "name": ep.service.name,
            "endpoints": []})
        entry["endpoints"].append({"id": ep.id, "interface": ep.interface, "region": ep.region,
                                   "region_id": ep.region, "url": ep.url})
    return list(by_service.values())


def service_view(request: Request, s: CatalogService) -> dict[str, Any]:
    return {"id": s.id, "type": s.type, "name": s.name, "description": s.description,
            "enabled": True, "links": self_link(request, f"/services/{s.id}")}


def endpoint_view(request: Request, ep: Endpoint) -> dict[str, Any]:
    return {"id": ep.id, "interface": ep.interface, "region": ep.region,
            "region_id": ep.region, "service_id": ep.service.id, "url": ep.url,
            "enabled": True, "links": self_link(request, f"/endpoints/{ep.id}")}


def region_view(request: Request, region: str) -> dict[str, Any]:
    return {"id": region, "description": "", "parent_region_id": None,
            "links": self_link(request, f"/regions/{region}")}


def token_view(request: Request, info: TokenInfo, catalog: Catalog,
               with_catalog: bool = True) -> dict[str, Any]:
    p = info.payload
    token: dict[str, Any] = {
        "methods": list(p.methods),
        "user": {"id": info.user.id, "name": info.user.name,
                 "domain": domain_ref(info.user_domain), "password_expires_at": None},
        "audit_ids": list(p.audit_ids),
        "expires_at": isotime(p.expires_at),
        "issued_at": isotime(p.issued_at),
    }
    if info.project and info.project_domain:
        token["project"] = {"id": info.project.id, "name": info.project.name,
                            "domain": domain_ref(info.project_domain)}
        token["is_domain"] = False
    elif info.domain:
        token["domain"] = domain_ref(info.domain)
    if info.project or info.domain:
        token["roles"] = [{"id": r.id, "name": r.name} for r in info.roles]
        if with_catalog:
            token["catalog"] = catalog_view(catalog.endpoints(
                public_url(request), info.project.id if info.project else None))
    if info.app_cred:
        token["application_credential"] = {"id": info.app_cred.id, "name": info.app_cred.name,
                                           "restricted": not info.app_cred.unrestricted}
    return {"token": token}


def app_cred_view(request: Request, cred: ApplicationCredential, roles: list[Role],
                  secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": cred.id, "name": cred.name, "description": cred.description,
        "user_id": cred.user_id, "project_id": cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in roles],
        "unrestricted": cred.unrestricted, "expires_at": naive_utc_time(cred.expires_at),
        "access_rules": [],
        "links": self_link(request, f"/users/{cred.user_id}/application_credentials/{cred.id}")}
    if secret is not None:
        out["secret"] = secret
    return out
