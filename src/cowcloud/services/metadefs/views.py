"""Rows as the metadefs API shows them (api-ref samples): None is left out, never sent as null.

glanceclient checks what it receives against the served schemas, where `description` is a
string and not null, so an unset attribute is absent, as Glance's WSME serializer leaves it.
Links are relative to the endpoint, as Glance writes them (`/v2/metadefs/...`).
"""

from __future__ import annotations

from typing import Any

from ...db.models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from ..images.model import isotime

NAMESPACE_SCHEMA = "/v2/schemas/metadefs/namespace"
NAMESPACES_SCHEMA = "/v2/schemas/metadefs/namespaces"
OBJECT_SCHEMA = "/v2/schemas/metadefs/object"
OBJECTS_SCHEMA = "/v2/schemas/metadefs/objects"


def _set(out: dict[str, Any], **values: Any) -> dict[str, Any]:
    out.update({k: v for k, v in values.items() if v is not None})
    return out


def _times(row: Any) -> dict[str, Any]:
    return {"created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at)}


def namespace_href(name: str) -> str:
    return f"/v2/metadefs/namespaces/{name}"


def namespace(ns: MetadefNamespace) -> dict[str, Any]:
    """The namespace alone: what create, update and list show of it."""
    return _set({"namespace": ns.namespace}, display_name=ns.display_name,
                description=ns.description, visibility=ns.visibility, protected=ns.protected,
                owner=ns.owner, **_times(ns), self=namespace_href(ns.namespace),
                schema=NAMESPACE_SCHEMA)


def association(a: MetadefNamespaceResourceType) -> dict[str, Any]:
    return _set({"name": a.resource_type.name}, prefix=a.prefix,
                properties_target=a.properties_target, **_times(a))


def resource_type(rt: MetadefResourceType) -> dict[str, Any]:
    return {"name": rt.name, **_times(rt)}


def property_schema(p: MetadefProperty, *, named: bool = True) -> dict[str, Any]:
    """A property definition; in a map of properties the name is the key, not an attribute."""
    return {"name": p.name, **p.json_schema} if named else dict(p.json_schema)


def obj(ns_name: str, o: MetadefObject) -> dict[str, Any]:
    return _set({"name": o.name}, description=o.description, required=o.required,
                properties=dict(o.properties or {}), **_times(o),
                self=f"{namespace_href(ns_name)}/objects/{o.name}", schema=OBJECT_SCHEMA)


def tag(t: MetadefTag, *, detail: bool = True) -> dict[str, Any]:
    """Lists show only the name (Glance's MetadefTag(name=...) in index and create_tags)."""
    return {"name": t.name, **_times(t)} if detail else {"name": t.name}


def namespace_detail(ns: MetadefNamespace, resource_type_name: str | None = None
                     ) -> dict[str, Any]:
    """GET .../namespaces/{ns}: the namespace with its contents, each kind only when present.

    With `resource_type_name`, the prefix of that association (if any) is put in front of
    every property name, in the namespace and in its objects (and their `required` lists)."""
    out = namespace(ns)
    # objects and tags newest first, as their own lists (and Glance's show) order them
    assocs = sorted(ns.associations, key=lambda a: a.created_at)
    objects = sorted(ns.objects, key=lambda o: (o.created_at, o.id), reverse=True)
    props = {p.name: property_schema(p, named=False) for p in sorted(ns.properties,
                                                                     key=lambda p: p.name)}
    tags = sorted(ns.tags, key=lambda t: (t.created_at, t.id), reverse=True)
    prefix = next((a.prefix for a in assocs
                   if resource_type_name and a.resource_type.name == resource_type_name), None)
    _set(out, resource_type_associations=[association(a) for a in assocs] or None,
         properties=props or None,
         objects=[obj(ns.namespace, o) for o in objects] or None,
         tags=[tag(t, detail=False) for t in tags] or None)
    if prefix:
        if "properties" in out:
            out["properties"] = {prefix + k: v for k, v in out["properties"].items()}
        for o in out.get("objects", []):
            o["properties"] = {prefix + k: v for k, v in o["properties"].items()}
            if o.get("required"):
                o["required"] = [prefix + r for r in o["required"]]
    return out
