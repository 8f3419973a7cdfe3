"""Resource types and their associations with namespaces (glance/api/v2/
metadef_resource_types.py, metadef_api/resource_type_association.py).

The standard types are seeded by migration 0004. Associating a namespace with a type that does
not exist yet creates the type, as Glance does; types are never deleted through the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.errors import Duplicate, savepoint
from ...db.models import MetadefNamespace, MetadefNamespaceResourceType, MetadefResourceType
from ..context import RequestContext
from ..policy import allowed, enforce
from . import bodies, views
from .access import caller_target, flush, load, target
from .errors import Conflict, Invalid, NotFound, Protected
from .schemas import RESOURCE_TYPE


def list_types(s: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    enforce(ctx, "image:list_metadef_resource_types", caller_target(ctx))
    rows = s.scalars(select(MetadefResourceType).order_by(MetadefResourceType.id))
    return [views.resource_type(rt) for rt in rows]


def _taken(ns: MetadefNamespace, name: str) -> str:
    return (f"The metadata definition resource-type association of resource-type={name} to "
            f"namespace={ns.namespace}, already exists.")


def _resource_type(s: Session, name: str) -> MetadefResourceType:
    """The type named, made now if new. Two requests may make the same new type at once: the
    loser's insert fails in its savepoint and it takes the winner's row, rather than refusing
    an association that conflicts with nothing."""
    find = select(MetadefResourceType).where(MetadefResourceType.name == name)
    rt = s.scalar(find)
    if rt is None:
        try:
            with savepoint(s):
                rt = MetadefResourceType(name=name, protected=False)
                s.add(rt)
        except Duplicate:
            rt = s.scalars(find).one()
    return rt


def associate_row(s: Session, ns: MetadefNamespace, body: dict[str, Any]
                  ) -> MetadefNamespaceResourceType:
    """A new association of `ns` from a checked body, creating the resource type if new."""
    if not isinstance(body.get("name"), str):
        raise Invalid("Each resource type association needs a name")
    name = bodies.name(body["name"], "resource type")
    if any(a.resource_type.name == name for a in ns.associations):
        raise Conflict(_taken(ns, name))
    rt = _resource_type(s, name)
    assoc = MetadefNamespaceResourceType(resource_type=rt, prefix=body.get("prefix"),
                                         properties_target=body.get("properties_target"))
    ns.associations.append(assoc)
    return assoc


def associate(s: Session, ctx: RequestContext, ns_name: str, body: Any) -> dict[str, Any]:
    body = bodies.check(body, RESOURCE_TYPE, bodies.READ_ONLY)
    ns = load(s, ctx, ns_name, "image:add_metadef_resource_type_association")
    assoc = associate_row(s, ns, body)
    flush(s, _taken(ns, body["name"]))
    return views.association(assoc)


def associations(s: Session, ctx: RequestContext, ns_name: str) -> list[dict[str, Any]]:
    ns = load(s, ctx, ns_name, "image:list_metadef_resource_types")
    if not allowed(ctx, "image:get_metadef_resource_type", target(ns)):
        return []
    return [views.association(a) for a in sorted(ns.associations, key=lambda a: a.created_at)]


def dissociate(s: Session, ctx: RequestContext, ns_name: str, name: str) -> None:
    ns = load(s, ctx, ns_name, "image:remove_metadef_resource_type_association")
    assoc = next((a for a in ns.associations if a.resource_type.name == name), None)
    if assoc is None:
        raise NotFound(f"Failed to find resource type {name} to delete")
    if ns.protected:
        raise Protected("resource-type-association", name)
    ns.associations.remove(assoc)
