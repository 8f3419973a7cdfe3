"""Volume types: `__DEFAULT__` (as Cinder creates it) and admin-made types whose extra spec
`volume_backend_name` names a configured [volume_backends.NAME]; the type picks the backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...block.targets import Target
from ...db.errors import Duplicate, constraints, savepoint
from ...db.models import Volume, VolumeType, VolumeTypeProject
from ..context import RequestContext
from ..errors import Unavailable
from ..policy import enforce
from . import checks, inventory
from .env import Env
from .errors import InvalidInput, InvalidVolumeType, VolumeTypeExists, VolumeTypeNotFound

DEFAULT_TYPE = "__DEFAULT__"
BACKEND_SPEC = "volume_backend_name"
# Cinder's scheduler matches a `capabilities:` scoped key the same as the bare one
BACKEND_SPECS = (BACKEND_SPEC, f"capabilities:{BACKEND_SPEC}")


def backend_name(specs: dict[str, str]) -> str | None:
    return next((specs[k] for k in BACKEND_SPECS if specs.get(k)), None)


def ensure_default(s: Session) -> None:
    if s.scalar(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE)) is None:
        try:
            with savepoint(s):
                s.add(VolumeType(name=DEFAULT_TYPE, description="Default Volume Type"))
        except Duplicate:
            pass  # another process made it meanwhile


def view(vtype: VolumeType, ctx: RequestContext, answer: str = "show") -> dict[str, Any]:
    """As Cinder answers `answer` (show/list, create, update): its type-access extension adds
    `os-volume-type-access:is_public` to all but update, and `qos_specs_id` (admins) is only in
    show and list; clients that validate answers (tempest's schemas) refuse extra keys."""
    out: dict[str, Any] = {
        "id": vtype.id, "name": vtype.name, "description": vtype.description,
        "is_public": vtype.is_public}
    if answer != "update":
        out["os-volume-type-access:is_public"] = vtype.is_public
    if answer == "show" and ctx.is_admin:
        out["qos_specs_id"] = None
    # Cinder shows extra specs to admins only (they name backends)
    if ctx.is_admin:
        out["extra_specs"] = dict(vtype.extra_specs)
    return out


def can_use(s: Session, ctx: RequestContext, vtype: VolumeType) -> bool:
    """Public, or private and the caller is an admin or on its access list (type_access)."""
    if vtype.is_public or ctx.is_admin:
        return True
    return ctx.project_id is not None and s.get(
        VolumeTypeProject, (vtype.id, ctx.project_id)) is not None


def _granted(s: Session, ctx: RequestContext) -> set[str]:
    if ctx.project_id is None:
        return set()
    return set(s.scalars(select(VolumeTypeProject.volume_type_id).where(
        VolumeTypeProject.project_id == ctx.project_id)))


def find(s: Session, type_ref: str) -> VolumeType:
    """By id, or by name as Cinder's volume create takes `volume_type` either way."""
    vtype = s.get(VolumeType, type_ref) if checks.canonical_id(type_ref) else None
    if vtype is None:
        vtype = s.scalar(select(VolumeType).where(VolumeType.name == type_ref))
    if vtype is None:
        raise VolumeTypeNotFound(type_ref)
    return vtype


def by_id(s: Session, type_id: str) -> VolumeType:
    if type_id == "default":
        return find(s, DEFAULT_TYPE)
    vtype = s.get(VolumeType, type_id) if checks.canonical_id(type_id) else None
    if vtype is None:
        raise VolumeTypeNotFound(type_id)
    return vtype


def backend_of(env: Env, vtype: VolumeType) -> Target:
    name = backend_name(vtype.extra_specs)
    if name:
        target = env.targets.of("volume_backends").get(name)
        if target is None:
            raise InvalidVolumeType(f"volume type {vtype.name} names backend {name!r}, which "
                                    "is not configured")
        candidates = [target]
    else:
        default = env.targets.default("volume_backends")
        if default is None:
            raise Unavailable("No volume backend is configured: volumes need a "
                              "[volume_backends.NAME] section in the configuration")
        candidates = [default, *(t for t in env.targets.of("volume_backends").values()
                                 if t is not default)]
    # the default first; then, as Cinder's scheduler, any backend whose capabilities match
    for target in candidates:
        if inventory.satisfies(target.name, target, vtype.extra_specs):
            return target
    raise InvalidVolumeType(f"No valid backend was found: no volume backend has the "
                            f"capabilities type {vtype.name} asks for "
                            f"({', '.join(f'{k}={v}' for k, v in vtype.extra_specs.items())})")


def _check_specs(env: Env, specs: Any) -> dict[str, str]:
    specs = checks.metadata(specs, "extra_specs")
    for key in BACKEND_SPECS:
        name = specs.get(key)
        if name is not None and name not in env.targets.of("volume_backends"):
            known = ", ".join(env.targets.of("volume_backends")) or "none"
            raise InvalidInput(f"{key} {name!r} is not a configured volume backend "
                               f"(configured: {known})")
    return specs


def in_use(s: Session, type_id: str) -> bool:
    return s.scalar(select(Volume.id).where(Volume.volume_type_id == type_id,
                                            Volume.deleted.is_(False)).limit(1)) is not None


def list_types(s: Session, ctx: RequestContext, params: dict[str, str]) -> list[dict[str, Any]]:
    enforce(ctx, "volume_extension:type_get_all")
    q = select(VolumeType).order_by(VolumeType.created_at, VolumeType.name)
    rows = s.scalars(q).all()
    if not ctx.is_admin:
        granted = _granted(s, ctx)
        rows = [r for r in rows if r.is_public or r.id in granted]
    elif "is_public" in params and params["is_public"].lower() != "none":
        want = checks.boolean(params["is_public"], "is_public")
        rows = [r for r in rows if r.is_public == want]
    return [view(r, ctx) for r in rows]


def show(s: Session, ctx: RequestContext, type_id: str) -> dict[str, Any]:
    enforce(ctx, "volume_extension:type_get")
    vtype = by_id(s, type_id)
    if not can_use(s, ctx, vtype):
        raise VolumeTypeNotFound(type_id)
    return view(vtype, ctx)


def create(s: Session, env: Env, ctx: RequestContext, body: Any) -> dict[str, Any]:
    enforce(ctx, "volume_extension:types_manage")
    spec = checks.body_of(body, "volume_type")
    name = checks.text(spec.get("name"), "name", nullable=False)
    if not name or not name.strip():
        raise InvalidInput("Volume type name can not be empty.")
    description = checks.text(spec.get("description"), "description")
    is_public = checks.boolean(spec.get("os-volume-type-access:is_public",
                                        spec.get("is_public", True)), "is_public")
    specs = _check_specs(env, spec.get("extra_specs") or {})
    vtype = VolumeType(name=name.strip(), description=description, is_public=is_public,
                       extra_specs=specs)
    try:
        with savepoint(s):
            s.add(vtype)
    except Duplicate:
        raise VolumeTypeExists(name) from None
    return view(vtype, ctx, "create")


def update(s: Session, ctx: RequestContext, type_id: str, body: Any) -> dict[str, Any]:
    enforce(ctx, "volume_extension:types_manage")
    spec = checks.body_of(body, "volume_type")
    vtype = by_id(s, type_id)
    if "name" in spec and spec["name"] is not None:
        name = checks.text(spec["name"], "name", nullable=False)
        if vtype.name == DEFAULT_TYPE or not name or not name.strip():
            raise InvalidVolumeType("the default type cannot be renamed and a name can not "
                                    "be empty")
        vtype.name = name.strip()
    if "description" in spec:
        vtype.description = checks.text(spec["description"], "description")
    if "is_public" in spec:
        vtype.is_public = checks.boolean(spec["is_public"], "is_public")
    try:
        with constraints():
            s.flush()
    except Duplicate:
        raise VolumeTypeExists(str(spec.get("name"))) from None
    return view(vtype, ctx, "update")


def delete(s: Session, ctx: RequestContext, type_id: str) -> None:
    enforce(ctx, "volume_extension:types_manage")
    vtype = by_id(s, type_id)
    if vtype.name == DEFAULT_TYPE:
        raise InvalidVolumeType("Default volume type can not be deleted")
    if in_use(s, vtype.id):
        raise InvalidVolumeType(f"Target volume type {vtype.id} is still in use.")
    s.delete(vtype)


def get_specs(s: Session, ctx: RequestContext, type_id: str) -> dict[str, str]:
    enforce(ctx, "volume_extension:types_manage")
    return dict(by_id(s, type_id).extra_specs)


def set_specs(s: Session, env: Env, ctx: RequestContext, type_id: str,
              specs: Any) -> dict[str, str]:
    """Merges `specs` in; the backend of a type that volumes use is not moved under them."""
    enforce(ctx, "volume_extension:types_manage")
    vtype = by_id(s, type_id)
    specs = _check_specs(env, specs)
    merged = {**vtype.extra_specs, **specs}
    if backend_name(merged) != backend_name(vtype.extra_specs) and in_use(s, vtype.id):
        raise InvalidVolumeType(f"Type {vtype.id} is in use: its {BACKEND_SPEC} cannot change "
                                "under its volumes")
    vtype.extra_specs = merged
    return specs


def unset_spec(s: Session, ctx: RequestContext, type_id: str, key: str) -> None:
    enforce(ctx, "volume_extension:types_manage")
    vtype = by_id(s, type_id)
    if key not in vtype.extra_specs:
        raise VolumeTypeNotFound(f"{type_id} extra spec {key}")
    if key in BACKEND_SPECS and in_use(s, vtype.id):
        raise InvalidVolumeType(f"Type {vtype.id} is in use: its {BACKEND_SPEC} cannot change "
                                "under its volumes")
    vtype.extra_specs = {k: v for k, v in vtype.extra_specs.items() if k != key}
