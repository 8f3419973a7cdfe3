"""What a namespace holds: objects, properties and tags (glance/api/v2/metadef_objects.py,
metadef_properties.py, metadef_tags.py).

Each call loads the namespace first (404 if the caller may not see it), then checks its own
rule against it (403). Names are unique within a namespace (409). Contents of a protected
namespace cannot be deleted (403), as Glance's domain objects refuse it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ...db.models import MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag
from ..context import RequestContext
from ..policy import allowed, enforce
from . import bodies, views
from .access import flush, load, target
from .errors import Conflict, Invalid, NotFound, Protected
from .schemas import OBJECT, PROPERTY, PROPERTY_IN_OBJECT, TAG, TAGS_BODY

SORT_KEYS = ("created_at", "updated_at", "name")


Named = TypeVar("Named", MetadefObject, MetadefProperty, MetadefTag)


def _named(rows: list[Named], name: str) -> Named | None:
    return next((r for r in rows if r.name == name), None)


def _rename(item: Named, rows: list[Named], new_name: str, taken: str) -> None:
    """Gives `item` (one of `rows`) its new name; 409 with `taken` when another has it."""
    if new_name != item.name and _named(rows, new_name) is not None:
        raise Conflict(taken)
    item.name = new_name


# ------------------------------------------------------------------------ objects

def _object_taken(ns: MetadefNamespace, name: str) -> str:
    return f"A metadata definition object with name={name} already exists in " \
           f"namespace={ns.namespace}."


def _object(ns: MetadefNamespace, name: str) -> MetadefObject:
    o = _named(ns.objects, name)
    if o is None:
        raise NotFound(f"The metadata definition object with name={name} was not found in "
                       f"namespace={ns.namespace}.")
    return o


def add_object(ns: MetadefNamespace, body: dict[str, Any], *, strict: bool = False
               ) -> MetadefObject:
    """A new object in `ns` from a checked body (`strict`: each property definition closed,
    as Glance checks a POSTed object's; inside a namespace body they are open)."""
    if not isinstance(body.get("name"), str):
        raise Invalid("Each object needs a name")
    name = bodies.name(body["name"], "object")
    if _named(ns.objects, name) is not None:
        raise Conflict(_object_taken(ns, name))
    props = bodies.property_map(body.get("properties") or {},
                                PROPERTY_IN_OBJECT if strict else None)
    o = MetadefObject(name=name, description=body.get("description"),
                      required=body.get("required"), properties=props)
    ns.objects.append(o)
    return o


def create_object(s: Session, ctx: RequestContext, ns_name: str, body: Any) -> dict[str, Any]:
    body = bodies.check(body, OBJECT, bodies.LINKED_READ_ONLY)
    ns = load(s, ctx, ns_name, "image:add_metadef_object")
    o = add_object(ns, body, strict=True)
    flush(s, _object_taken(ns, o.name))
    return views.obj(ns.namespace, o)


def list_objects(s: Session, ctx: RequestContext, ns_name: str,
                 params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    q = bodies.list_params(params, SORT_KEYS)
    ns = load(s, ctx, ns_name, "image:get_metadef_objects")
    if not allowed(ctx, "image:get_metadef_object", target(ns)):
        return []
    found, _ = bodies.page(list(ns.objects), q, lambda o: o.name, _missing(ns, q.marker))
    return [views.obj(ns.namespace, o) for o in found]


def get_object(s: Session, ctx: RequestContext, ns_name: str, name: str) -> dict[str, Any]:
    ns = load(s, ctx, ns_name, "image:get_metadef_object")
    return views.obj(ns.namespace, _object(ns, name))


def update_object(s: Session, ctx: RequestContext, ns_name: str, name: str,
                  body: Any) -> dict[str, Any]:
    """PUT replaces the object: what the body leaves out is cleared."""
    body = bodies.check(body, OBJECT, bodies.LINKED_READ_ONLY)
    ns = load(s, ctx, ns_name, "image:modify_metadef_object")
    o = _object(ns, name)
    new_name = bodies.name(body["name"], "object")
    _rename(o, ns.objects, new_name, _object_taken(ns, new_name))
    o.description = body.get("description")
    o.required = body.get("required")
    o.properties = bodies.property_map(body.get("properties") or {})
    flush(s, _object_taken(ns, new_name))
    return views.obj(ns.namespace, o)


def delete_object(s: Session, ctx: RequestContext, ns_name: str, name: str) -> None:
    ns = load(s, ctx, ns_name, "image:delete_metadef_object")
    o = _object(ns, name)
    if ns.protected:
        raise Protected("object", name)
    ns.objects.remove(o)


def _missing(ns: MetadefNamespace, marker: str | None) -> NotFound:
    return NotFound(f"No item named {marker} (the marker) in namespace={ns.namespace}.")


# ------------------------------------------------------------------------ properties

def _property_taken(ns: MetadefNamespace, name: str) -> str:
    return f"A metadata definition property with name={name} already exists in " \
           f"namespace={ns.namespace}."


def _property(ns: MetadefNamespace, name: str) -> MetadefProperty:
    p = _named(ns.properties, name)
    if p is None:
        raise NotFound(f"The metadata definition property with name={name} was not found in "
                       f"namespace={ns.namespace}.")
    return p


def add_property(ns: MetadefNamespace, name: str, definition: dict[str, Any]
                 ) -> MetadefProperty:
    if _named(ns.properties, name) is not None:
        raise Conflict(_property_taken(ns, name))
    p = MetadefProperty(name=name, json_schema=definition)
    ns.properties.append(p)
    return p


def create_property(s: Session, ctx: RequestContext, ns_name: str, body: Any
                    ) -> dict[str, Any]:
    body = bodies.check(body, PROPERTY, bodies.READ_ONLY)
    ns = load(s, ctx, ns_name, "image:add_metadef_property")
    name = bodies.name(body["name"], "property")
    p = add_property(ns, name, bodies.property_definition(body))
    flush(s, _property_taken(ns, name))
    return views.property_schema(p)


def list_properties(s: Session, ctx: RequestContext, ns_name: str) -> dict[str, Any]:
    ns = load(s, ctx, ns_name, "image:get_metadef_properties")
    return {p.name: views.property_schema(p, named=False)
            for p in sorted(ns.properties, key=lambda p: p.name)}


def get_property(s: Session, ctx: RequestContext, ns_name: str, name: str,
                 resource_type: str | None = None) -> dict[str, Any]:
    """With `resource_type`, `name` carries that association's prefix, which is taken off
    (GET .../properties/hw_cpu_cores?resource_type=OS::Glance::Image)."""
    ns = load(s, ctx, ns_name, "image:get_metadef_property")
    if resource_type:
        enforce(ctx, "image:get_metadef_resource_type", target(ns))
        assoc = next((a for a in ns.associations if a.resource_type.name == resource_type), None)
        if assoc is None:
            raise NotFound(f"The metadata definition resource-type association of "
                           f"resource-type={resource_type} to namespace={ns.namespace}, was "
                           "not found.")
        if not assoc.prefix or not name.startswith(assoc.prefix):
            raise NotFound(f"Property {name} does not start with the expected resource type "
                           f"association prefix of '{assoc.prefix}'.")
        name = name[len(assoc.prefix):]
    return views.property_schema(_property(ns, name))


def update_property(s: Session, ctx: RequestContext, ns_name: str, name: str,
                    body: Any) -> dict[str, Any]:
    body = bodies.check(body, PROPERTY, bodies.READ_ONLY)
    ns = load(s, ctx, ns_name, "image:modify_metadef_property")
    p = _property(ns, name)
    new_name = bodies.name(body["name"], "property")
    _rename(p, ns.properties, new_name, _property_taken(ns, new_name))
    p.json_schema = bodies.property_definition(body)
    flush(s, _property_taken(ns, new_name))
    return views.property_schema(p)


def delete_property(s: Session, ctx: RequestContext, ns_name: str, name: str) -> None:
    ns = load(s, ctx, ns_name, "image:remove_metadef_property")
    p = _property(ns, name)
    if ns.protected:
        raise Protected("property", name)
    ns.properties.remove(p)


# ------------------------------------------------------------------------ tags

def _tag_taken(ns: MetadefNamespace, name: str) -> str:
    return f"A metadata tag with name={name} already exists in namespace={ns.namespace}."


def _tag(ns: MetadefNamespace, name: str) -> MetadefTag:
    t = _named(ns.tags, name)
    if t is None:
        raise NotFound(f"The metadata definition tag with name={name} was not found in "
                       f"namespace={ns.namespace}.")
    return t


def add_tag(ns: MetadefNamespace, name: str) -> MetadefTag:
    if _named(ns.tags, name) is not None:
        raise Conflict(_tag_taken(ns, name))
    t = MetadefTag(name=name)
    ns.tags.append(t)
    return t


def create_tag(s: Session, ctx: RequestContext, ns_name: str, name: str) -> dict[str, Any]:
    """POST .../tags/{name}: the name comes from the URL, checked against the tag schema."""
    ns = load(s, ctx, ns_name)
    bodies.check({"name": name}, TAG, ())
    enforce(ctx, "image:add_metadef_tag", target(ns))
    t = add_tag(ns, bodies.name(name, "tag"))
    flush(s, _tag_taken(ns, name))
    return views.tag(t)


def create_tags(s: Session, ctx: RequestContext, ns_name: str, body: Any,
                append: bool) -> list[dict[str, Any]]:
    """POST .../tags {"tags": [...]}: replaces every tag, or with X-Openstack-Append adds to
    them; a name given twice, or (appending) one already there, is a 409 and changes
    nothing."""
    body = bodies.check(body, TAGS_BODY, bodies.READ_ONLY)
    ns = load(s, ctx, ns_name, "image:add_metadef_tags")
    if not append:
        ns.tags.clear()
        s.flush()  # the old rows go before new ones of the same name arrive
    made = [add_tag(ns, bodies.name(item["name"], "tag")) for item in body["tags"]]
    flush(s, f"A metadata tag already exists in namespace={ns.namespace}.")
    return [views.tag(t, detail=False) for t in made]


def list_tags(s: Session, ctx: RequestContext, ns_name: str,
              params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    q = bodies.list_params(params, SORT_KEYS)
    ns = load(s, ctx, ns_name, "image:get_metadef_tags")
    found, _ = bodies.page(list(ns.tags), q, lambda t: t.name, _missing(ns, q.marker))
    return [views.tag(t, detail=False) for t in found]


def get_tag(s: Session, ctx: RequestContext, ns_name: str, name: str) -> dict[str, Any]:
    ns = load(s, ctx, ns_name, "image:get_metadef_tag")
    return views.tag(_tag(ns, name))


def update_tag(s: Session, ctx: RequestContext, ns_name: str, name: str,
               body: Any) -> dict[str, Any]:
    body = bodies.check(body, TAG, bodies.READ_ONLY)
    ns = load(s, ctx, ns_name, "image:modify_metadef_tag")
    t = _tag(ns, name)
    new_name = bodies.name(body["name"], "tag")
    _rename(t, ns.tags, new_name, _tag_taken(ns, new_name))
    flush(s, _tag_taken(ns, new_name))
    return views.tag(t)


def delete_tag(s: Session, ctx: RequestContext, ns_name: str, name: str) -> None:
    ns = load(s, ctx, ns_name, "image:delete_metadef_tag")
    t = _tag(ns, name)
    if ns.protected:
        raise Protected("tag", name)
    ns.tags.remove(t)
