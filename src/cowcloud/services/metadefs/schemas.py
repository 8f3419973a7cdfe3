"""The metadefs JSON schemas: served at /v2/schemas/metadefs/* and used to check every body.

Shaped as Glance publishes them (api-ref "Metadata definition schemas"): closed objects
(additionalProperties false) with Glance's required attributes, a shared `definitions` block for
property definitions, and the collection wrappers. glanceclient builds its models from these and
validates what it sends and receives against them, so the views in views.py must fit them:
no attribute outside a schema, no null where a string is expected.

Where Glance's schema leaves a name unbounded but its database column holds 80 characters, the
bound is written here (PostgreSQL would refuse the row with a 500 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .checker import Schema, SchemaError, validate

NAME_MAX = 80  # namespace, object, property, tag, resource type names and prefixes
PROPERTY_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _str(max_length: int | None = None, **more: Any) -> Schema:
    out: Schema = {"type": "string", **more}
    if max_length is not None:
        out["maxLength"] = max_length
    return out


def _read_only(description: str) -> Schema:
    return {"type": "string", "readOnly": True, "description": description,
            "format": "date-time"}


def _timestamps(what: str) -> Schema:
    return {"created_at": _read_only(f"Date and time of {what} creation"),
            "updated_at": _read_only(f"Date and time of the last {what} modification")}


def property_fields() -> Schema:
    """The attributes of one property definition (PropertyType in Glance)."""
    return {
        "name": _str(NAME_MAX),
        "title": _str(),
        "description": _str(),
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": PROPERTY_TYPES},
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": _str(format="regex"),
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": PROPERTY_TYPES},
            "enum": {"type": "array"}}},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _base_definitions(string_array_min: int | None = None) -> Schema:
    string_array: Schema = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    if string_array_min is not None:
        string_array["minItems"] = string_array_min
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                              {"default": 0}]},
        "stringArray": string_array,
    }


def _definitions() -> Schema:
    """Namespaces and objects: `property` is a map of name -> definition (title, type needed)."""
    return {**_base_definitions(), "property": {
        "type": "object",
        "additionalProperties": {"type": "object", "required": ["title", "type"],
                                 "properties": property_fields()}}}


def _closed(name: str, properties: Schema, required: list[str] | None = None,
            definitions: Schema | None = None) -> Schema:
    out: Schema = {"name": name, "properties": properties, "additionalProperties": False}
    if definitions:
        out["definitions"] = definitions
    if required:
        out["required"] = required
    return out


def namespace_schema() -> Schema:
    ro = {"readOnly": True, "type": "string"}
    return _closed("namespace", {
        "namespace": _str(NAME_MAX, description="The unique namespace text."),
        "display_name": _str(NAME_MAX, description="The user friendly name for the "
                             "namespace. Used by UI if available."),
        "description": _str(500, description="Provides a user friendly description of the "
                            "namespace."),
        "visibility": {"type": "string", "description": "Scope of namespace accessibility.",
                       "enum": ["public", "private"]},
        "protected": {"type": "boolean",
                      "description": "If true, namespace will not be deletable."},
        "owner": _str(255, description="Owner of the namespace."),
        **_timestamps("namespace"),
        "schema": ro, "self": ro,
        "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": {
            "name": _str(NAME_MAX), "prefix": _str(NAME_MAX),
            "properties_target": _str(NAME_MAX)}}},
        "properties": {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": {
            "name": _str(NAME_MAX), "description": _str(),
            "required": {"$ref": "#/definitions/stringArray"},
            "properties": {"$ref": "#/definitions/property"}}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {
            "name": _str(NAME_MAX)}}},
    }, ["namespace"], _definitions())


def object_schema() -> Schema:
    ro = {"readOnly": True, "type": "string"}
    return _closed("object", {
        "name": _str(NAME_MAX), "description": _str(),
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": ro, "self": ro, **_timestamps("object"),
    }, ["name"], _definitions())


def property_schema(require_name: bool = True) -> Schema:
    """One property on its own (POST/PUT .../properties): closed, unlike inside a namespace."""
    return _closed("property", property_fields(),
                   ["type", "title", *(["name"] if require_name else [])],
                   _base_definitions(string_array_min=1))


def tag_schema() -> Schema:
    return _closed("tag", {"name": _str(NAME_MAX), **_timestamps("tag")}, ["name"])


def tags_body_schema() -> Schema:
    """The body of POST .../tags (create several at once)."""
    item = {"type": "object", "properties": {"name": _str(NAME_MAX)}, "required": ["name"],
            "additionalProperties": False}
    return _closed("tags", {"tags": {"type": "array", "items": item}}, ["tags"])


def resource_type_schema() -> Schema:
    return _closed("resource_type_association", {
        "name": _str(NAME_MAX, description="Resource type names should be aligned with Heat "
                     "resource types whenever possible."),
        "prefix": _str(NAME_MAX, description="Specifies the prefix to use for the given "
                       "resource type. Any properties in the namespace should be prefixed with "
                       "this prefix when being applied to the specified resource type. Must "
                       "include prefix separator (e.g. a colon :)."),
        "properties_target": _str(NAME_MAX, description="Some resource types allow more than "
                                  "one key / value pair per instance. This names the one the "
                                  "namespace's properties apply to."),
        **_timestamps("resource type association"),
    }, ["name"])


_LINKS = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
          {"rel": "describedby", "href": "{schema}"}]


def _collection(name: str, item: Schema, *, as_map: bool = False) -> Schema:
    """Glance's CollectionSchema (a list of items) or DictCollectionSchema (name -> item), with
    the item's definitions lifted to the top where $ref finds them."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    body: Schema = ({"type": "object", "additionalProperties": item} if as_map
                    else {"type": "array", "items": item})
    out: Schema = {"name": name, "properties": {
        name: body, "first": {"type": "string"}, "next": {"type": "string"},
        "schema": {"type": "string"}}, "links": _LINKS}
    if definitions:
        out["definitions"] = definitions
    return out


def _properties_collection() -> Schema:
    # inside the map the name is the key, not an attribute
    return _collection("properties", property_schema(require_name=False), as_map=True)


SCHEMAS: dict[str, Callable[[], Schema]] = {
    "namespace": namespace_schema,
    "namespaces": lambda: _collection("namespaces", namespace_schema()),
    "object": object_schema,
    "objects": lambda: _collection("objects", object_schema()),
    "property": property_schema,
    "properties": _properties_collection,
    "tag": tag_schema,
    "tags": lambda: _collection("tags", tag_schema()),
    "resource_type": resource_type_schema,
    "resource_types": lambda: _collection("resource_type_associations",
                                          resource_type_schema()),
}

# What each kind of body is checked against (built once: they never change).
NAMESPACE = namespace_schema()
OBJECT = object_schema()
PROPERTY = property_schema()
PROPERTY_IN_OBJECT = property_schema(require_name=False)
TAG = tag_schema()
TAGS_BODY = tags_body_schema()
RESOURCE_TYPE = resource_type_schema()

__all__ = ["NAME_MAX", "SCHEMAS", "Schema", "SchemaError", "validate"]
