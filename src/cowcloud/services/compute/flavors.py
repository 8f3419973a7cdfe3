"""Flavors, their extra specs and their access lists (Nova's flavors, os-extra_specs,
os-flavor-access)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import Duplicate, savepoint
from ...db.models import Flavor, FlavorExtraSpec, FlavorProject, utcnow
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import checks
from .errors import BadRequest, ComputeConflict, ExtraSpecNotFound, FlavorExists, FlavorNotFound
from .views import Version, links

SORT_KEYS = ("created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
             "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap",
             "updated_at", "vcpu_weight", "vcpus")


def specs_of(flavor: Flavor) -> dict[str, str]:
    return {e.key: e.value for e in flavor.extra_specs}


def view(flavor: Flavor, version: Version, base: str, *, detail: bool = True,
         with_specs: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                           "links": links(base, "flavors", flavor.flavorid)}
    if version >= (2, 55):
        out["description"] = flavor.description
    if not detail:
        return out
    out.update({
        "ram": flavor.memory_mb, "disk": flavor.root_gb, "vcpus": flavor.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb, "OS-FLV-DISABLED:disabled": False,
        # before 2.75 a flavor without swap says "" (Nova's old view)
        "swap": flavor.swap if (flavor.swap or version >= (2, 75)) else "",
        "rxtx_factor": flavor.rxtx_factor, "os-flavor-access:is_public": flavor.is_public,
    })
    if version >= (2, 61) and with_specs:
        out["extra_specs"] = specs_of(flavor)
    return out


def may_use(s: Session, ctx: RequestContext, flavor: Flavor) -> bool:
    if flavor.is_public or ctx.is_admin:
        return True
    return any(p.project_id == ctx.project_id for p in flavor.projects)


def find(s: Session, ctx: RequestContext, flavor_id: str) -> Flavor:
    """The flavor by its API id, if the caller may see it (a private one: admins and the
    projects on its access list)."""
    flavor = s.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
    if flavor is None or not may_use(s, ctx, flavor):
        raise FlavorNotFound(flavor_id)
    return flavor


def show(s: Session, ctx: RequestContext, flavor_id: str, version: Version,
         base: str) -> dict[str, Any]:
    enforce(ctx, "compute:flavor:get")
    return view(find(s, ctx, flavor_id), version, base)


def _is_public_param(ctx: RequestContext, params: dict[str, str]) -> bool | None:
    """Nova's _get_is_public: admins see public flavors unless they ask (`none`: all);
    others always see the public ones and those shared with their project."""
    raw = params.get("is_public")
    if not ctx.is_admin:
        return True
    if raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    return checks.boolean(raw, "is_public")


def list_flavors(s: Session, ctx: RequestContext, params: dict[str, str], version: Version,
                 base: str, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "compute:flavor:list")
    is_public = _is_public_param(ctx, params)
    rows = list(s.scalars(select(Flavor)))
    if ctx.is_admin:
        if is_public is not None:
            rows = [r for r in rows if r.is_public == is_public]
    else:
        rows = [r for r in rows if may_use(s, ctx, r)]
    if "minRam" in params:
        least = checks.integer(params["minRam"], "minRam")
        rows = [r for r in rows if r.memory_mb >= least]
    if "minDisk" in params:
        least = checks.integer(params["minDisk"], "minDisk")
        rows = [r for r in rows if r.root_gb >= least]
    key = params.get("sort_key", "flavorid")
    if key not in SORT_KEYS:
        raise BadRequest(f"Invalid input for field/attribute sort_key. Value: {key}.")
    direction = params.get("sort_dir", "asc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for field/attribute sort_dir. Value: {direction}.")
    attr = {"id": "id", "flavorid": "flavorid", "vcpu_weight": "vcpus",
            "disabled": "is_public"}.get(key, key)
    def sort_key(r: Flavor) -> tuple[bool, Any]:
        value = getattr(r, attr)
        return value is None, value if value is not None else 0
    rows.sort(key=sort_key, reverse=direction == "desc")
    if "marker" in params:
        ids = [r.flavorid for r in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"marker [{params['marker']}] not found")
        rows = rows[ids.index(params["marker"]) + 1:]
    if "limit" in params:
        rows = rows[:checks.integer(params["limit"], "limit")]
    return {"flavors": [view(r, version, base, detail=detail) for r in rows]}


def create(s: Session, ctx: RequestContext, body: Any, version: Version,
           base: str) -> dict[str, Any]:
    enforce(ctx, "compute:flavor:manage")
    spec = checks.body_of(body, "flavor")
    allowed = {"name", "ram", "vcpus", "disk", "id", "swap", "OS-FLV-EXT-DATA:ephemeral",
               "rxtx_factor", "os-flavor-access:is_public"}
    if version >= (2, 55):
        allowed.add("description")
    extra = sorted(set(spec) - allowed)
    if extra:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in extra)} were unexpected)")
    for field in ("name", "ram", "vcpus", "disk"):
        if field not in spec:
            raise BadRequest(f"Invalid input for field/attribute flavor. Value: {spec}. "
                             f"'{field}' is a required property")
    name = checks.name(spec["name"])
    flavorid = spec.get("id")
    if flavorid is None or flavorid == "auto":
        flavorid = str(uuid.uuid4())
    elif isinstance(flavorid, bool) or not isinstance(flavorid, (str, int)) or \
            not str(flavorid).strip() or len(str(flavorid)) > 255:
        raise BadRequest(f"Invalid input for field/attribute id. Value: {flavorid}.")
    flavorid = str(flavorid).strip()
    description = spec.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 65535):
        raise BadRequest("Invalid input for field/attribute description.")
    flavor = Flavor(
        flavorid=flavorid, name=name,
        memory_mb=checks.integer(spec["ram"], "ram", 1),
        vcpus=checks.integer(spec["vcpus"], "vcpus", 1),
        root_gb=checks.integer(spec["disk"], "disk", 0),
        swap=checks.integer(spec.get("swap") or 0, "swap", 0),
        ephemeral_gb=checks.integer(spec.get("OS-FLV-EXT-DATA:ephemeral") or 0,
                                    "OS-FLV-EXT-DATA:ephemeral", 0),
        rxtx_factor=checks.number(spec.get("rxtx_factor", 1.0), "rxtx_factor", 0),
        is_public=checks.boolean(spec.get("os-flavor-access:is_public", True),
                                 "os-flavor-access:is_public"),
        description=description)
    if s.scalar(select(Flavor.id).where(Flavor.name == name)) is not None:
        raise FlavorExists(f"Flavor with name {name} already exists.")
    if s.scalar(select(Flavor.id).where(Flavor.flavorid == flavorid)) is not None:
        raise FlavorExists(f"Flavor with ID {flavorid} already exists.")
    try:
        with savepoint(s):
            s.add(flavor)
            s.flush()
    except Duplicate:  # a concurrent create of the same name or id
        raise FlavorExists(f"Flavor with name {name} already exists.") from None
    s.refresh(flavor)
    return view(flavor, version, base)


def update(s: Session, ctx: RequestContext, flavor_id: str, body: Any, version: Version,
           base: str) -> dict[str, Any]:
    enforce(ctx, "compute:flavor:manage")
    spec = checks.body_of(body, "flavor")
    if set(spec) != {"description"}:
        raise BadRequest("'description' is a required property and the only one allowed")
    description = spec["description"]
    if description is not None and not isinstance(description, str):
        raise BadRequest("Invalid input for field/attribute description.")
    flavor = find(s, ctx, flavor_id)
    flavor.description = description
    flavor.updated_at = utcnow()
    return view(flavor, version, base)


def delete(s: Session, ctx: RequestContext, flavor_id: str) -> None:
    enforce(ctx, "compute:flavor:manage")
    flavor = s.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
    if flavor is None:
        raise FlavorNotFound(flavor_id)
    s.delete(flavor)


# ------------------------------------------------------------------ extra specs

def get_specs(s: Session, ctx: RequestContext, flavor_id: str) -> dict[str, str]:
    enforce(ctx, "compute:flavor:get")
    return specs_of(find(s, ctx, flavor_id))


def get_spec(s: Session, ctx: RequestContext, flavor_id: str, key: str) -> dict[str, str]:
    specs = get_specs(s, ctx, flavor_id)
    if key not in specs:
        raise ExtraSpecNotFound(flavor_id, key)
    return {key: specs[key]}


def set_specs(s: Session, ctx: RequestContext, flavor_id: str, specs: Any) -> dict[str, str]:
    enforce(ctx, "compute:flavor:manage")
    found = checks.string_map(specs, "extra_specs")
    flavor = find(s, ctx, flavor_id)
    current = {e.key: e for e in flavor.extra_specs}
    for key, value in found.items():
        assert value is not None
        if key in current:
            current[key].value = value
        else:
            flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
    flavor.updated_at = utcnow()
    return {k: v for k, v in found.items() if v is not None}


def unset_spec(s: Session, ctx: RequestContext, flavor_id: str, key: str) -> None:
    enforce(ctx, "compute:flavor:manage")
    flavor = find(s, ctx, flavor_id)
    match = [e for e in flavor.extra_specs if e.key == key]
    if not match:
        raise ExtraSpecNotFound(flavor_id, key)
    flavor.extra_specs.remove(match[0])


# ------------------------------------------------------------------ access

def access_list(s: Session, ctx: RequestContext, flavor_id: str) -> list[dict[str, str]]:
    enforce(ctx, "compute:flavor:access")
    flavor = find(s, ctx, flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return [{"flavor_id": flavor.flavorid, "tenant_id": p.project_id}
            for p in sorted(flavor.projects, key=lambda p: p.project_id)]


def add_access(s: Session, ctx: RequestContext, flavor_id: str, project_id: Any
               ) -> list[dict[str, str]]:
    enforce(ctx, "compute:flavor:manage")
    if not isinstance(project_id, str) or not project_id:
        raise BadRequest("Missing parameter tenant in addTenantAccess")
    flavor = find(s, ctx, flavor_id)
    if flavor.is_public:
        raise ComputeConflict("Can not add access to a public flavor.")
    if any(p.project_id == project_id for p in flavor.projects):
        raise ComputeConflict(f"Flavor access already exists for flavor {flavor_id} and "
                              f"project {project_id} combination.")
    flavor.projects.append(FlavorProject(project_id=project_id))
    s.flush()
    return access_list(s, ctx, flavor_id)


def remove_access(s: Session, ctx: RequestContext, flavor_id: str, project_id: Any
                  ) -> list[dict[str, str]]:
    enforce(ctx, "compute:flavor:manage")
    if not isinstance(project_id, str) or not project_id:
        raise BadRequest("Missing parameter tenant in removeTenantAccess")
    flavor = find(s, ctx, flavor_id)
    match = [p for p in flavor.projects if p.project_id == project_id]
    if not match:
        raise FlavorNotFound(f"Flavor access not found for {flavor_id} / {project_id} "
                             "combination.")
    flavor.projects.remove(match[0])
    s.flush()
    return access_list(s, ctx, flavor_id)
