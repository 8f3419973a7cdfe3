"""Namespaces: create (with contents), show (with contents), list, replace, delete.

Every function runs inside one session given by the caller (service.py) and returns plain
dicts; access.py decides what the caller sees (404) and may change (403).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

from ...db.models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from ..context import RequestContext
from ..policy import allowed, enforce
from . import bodies, contents, resource_types, views
from .access import caller_target, find, flush, load, target
from .errors import Conflict, Invalid, NamespaceNotFound, Protected
from .schemas import NAMESPACE

SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "visibility", "owner")
# Creating a namespace with contents also needs the rights to create each kind of content.
CONTENT_RULES = (("resource_type_associations", "image:add_metadef_resource_type_association"),
                 ("objects", "image:add_metadef_object"),
                 ("properties", "image:add_metadef_property"),
                 ("tags", "image:add_metadef_tag"))
READ_RULES = ("image:list_metadef_resource_types", "image:get_metadef_objects",
              "image:get_metadef_properties", "image:get_metadef_tags")


def duplicate(name: str) -> str:
    return f"The metadata definition namespace={name} already exists."


# ------------------------------------------------------------------------ create, show, list

def create(s: Session, ctx: RequestContext, body: Any) -> dict[str, Any]:
    body = bodies.check(body, NAMESPACE, bodies.LINKED_READ_ONLY)
    name = bodies.name(body["namespace"], "namespace")
    enforce(ctx, "image:add_metadef_namespace", caller_target(ctx))
    for key, rule in CONTENT_RULES:
        if body.get(key):
            enforce(ctx, rule, caller_target(ctx))
    if find(s, name) is not None:
        raise Conflict(duplicate(name))
    ns = MetadefNamespace(namespace=name, display_name=body.get("display_name"),
                          description=body.get("description"),
                          visibility=body.get("visibility") or "private",
                          protected=bool(body.get("protected", False)),
                          owner=body.get("owner") or ctx.project_id or ctx.user_id)
    s.add(ns)
    flush(s, duplicate(name))
    # contents in the same transaction: a bad or duplicate item leaves no namespace behind
    for item in body.get("resource_type_associations") or ():
        resource_types.associate_row(s, ns, item)
    for item in body.get("objects") or ():
        contents.add_object(ns, item)
    for prop_name, definition in bodies.property_map(body.get("properties") or {}).items():
        contents.add_property(ns, prop_name, definition)
    for item in body.get("tags") or ():
        contents.add_tag(ns, bodies.name(item.get("name", ""), "tag"))
    flush(s, duplicate(name))
    return views.namespace_detail(ns)


def show(s: Session, ctx: RequestContext, name: str,
         resource_type: str | None = None) -> dict[str, Any]:
    ns = load(s, ctx, name, *READ_RULES)
    return views.namespace_detail(ns, resource_type)


def listing(s: Session, ctx: RequestContext, params: list[tuple[str, str]]
            ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the namespaces the caller sees, each with its resource type associations,
    and the marker of the next page (None on the last)."""
    q = bodies.list_params(params, SORT_KEYS)
    enforce(ctx, "image:get_metadef_namespaces", caller_target(ctx))
    enforce(ctx, "image:list_metadef_resource_types", caller_target(ctx))
    stmt = select(MetadefNamespace).options(selectinload(MetadefNamespace.associations))
    if not ctx.is_admin:
        stmt = stmt.where(or_(MetadefNamespace.owner == ctx.project_id,
                              MetadefNamespace.visibility == "public"))
    visibility = q.filters.get("visibility")
    if visibility:
        if visibility not in ("public", "private"):
            raise Invalid(f"Invalid visibility value: {visibility}")
        stmt = stmt.where(MetadefNamespace.visibility == visibility)
    if q.filters.get("resource_types"):
        # a name with a NUL names no type (and PostgreSQL would refuse the query)
        wanted = [n.strip() for n in q.filters["resource_types"].split(",") if "\x00" not in n]
        stmt = stmt.where(MetadefNamespace.id.in_(
            select(MetadefNamespaceResourceType.namespace_id).join(MetadefResourceType)
            .where(MetadefResourceType.name.in_(wanted))))
    rows = [ns for ns in s.scalars(stmt)
            if allowed(ctx, "image:get_metadef_namespace", target(ns))]
    found, more = bodies.page(rows, q, lambda ns: ns.namespace,
                              NamespaceNotFound(q.marker or ""))
    out = []
    for ns in found:
        view = views.namespace(ns)
        assocs = sorted(ns.associations, key=lambda a: a.created_at)
        if assocs:
            view["resource_type_associations"] = [views.association(a) for a in assocs]
        out.append(view)
    return out, (found[-1].namespace if more and found else None)


# ------------------------------------------------------------------------ replace, delete

def update(s: Session, ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """PUT replaces: what the body leaves out takes its default (api-ref "Update namespace":
    no description or display_name, private, unprotected, the caller's project as owner).
    Contents in the body are accepted and ignored, as glanceclient sends them back."""
    body = bodies.check(body, NAMESPACE, bodies.LINKED_READ_ONLY)
    new_name = bodies.name(body["namespace"], "namespace")
    ns = load(s, ctx, name, "image:modify_metadef_namespace")
    if new_name != ns.namespace and find(s, new_name) is not None:
        raise Conflict(f"Invalid update. It would result in a duplicate metadata definition "
                       f"namespace with the same name of {new_name}")
    ns.namespace = new_name
    ns.display_name = body.get("display_name")
    ns.description = body.get("description")
    ns.visibility = body.get("visibility") or "private"
    ns.protected = bool(body.get("protected") or False)
    ns.owner = body.get("owner") or ctx.project_id or ctx.user_id
    flush(s, duplicate(new_name))
    return views.namespace(ns)


def delete_namespace(s: Session, ctx: RequestContext, name: str) -> None:
    ns = load(s, ctx, name, "image:delete_metadef_namespace")
    if ns.protected:
        raise Protected("namespace", ns.namespace)
    s.delete(ns)  # its contents go with it (ORM cascade, ON DELETE CASCADE for unloaded rows)


_KINDS: dict[str, type[MetadefObject] | type[MetadefProperty] | type[MetadefTag]] = {
    "objects": MetadefObject, "properties": MetadefProperty, "tags": MetadefTag}


def delete_contents(s: Session, ctx: RequestContext, name: str, kind: str) -> None:
    """DELETE .../objects, .../properties, .../tags: all of one kind. Glance asks for the
    right to delete the namespace (and, for tags, delete_metadef_tags) and refuses on a
    protected namespace, as deleting the namespace itself would be refused."""
    rules = ["image:delete_metadef_namespace"]
    if kind == "tags":
        rules.append("image:delete_metadef_tags")
    ns = load(s, ctx, name, *rules)
    if ns.protected:
        raise Protected("namespace", ns.namespace)
    model = _KINDS[kind]
    s.execute(delete(model).where(model.namespace_id == ns.id))
