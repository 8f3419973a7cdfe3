"""Request bodies and list parameters, checked the way Glance's deserializers check them.

Glance first refuses read-only attributes (403 "Attribute 'x' is read-only."), then validates
the body against the published schema (400 "Provided object does not match schema ..."), and
only then looks up the namespace; the same order here. What is stored of a property definition
is what Glance's PropertyType model keeps: unknown attributes inside a namespace's or an
object's property map pass the (open) schema there but are dropped, as WSME drops them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..paging import Descending, parse_limit
from .errors import Denied, Invalid
from .schemas import NAME_MAX, Schema, SchemaError, property_fields, validate

LINKED_READ_ONLY = ("self", "schema", "created_at", "updated_at")  # namespaces and objects
READ_ONLY = ("created_at", "updated_at")  # properties, tags, resource type associations
# PropertyType's attributes: the schema's, less `name` (a column) and `required` (not kept)
PROPERTY_KEYS = tuple(k for k in property_fields() if k not in ("name", "required"))
ITEM_KEYS = ("type", "enum")

DEFAULT_LIMIT, MAX_LIMIT = 25, 1000  # Glance's limit_param_default and api_limit_max


def check(body: Any, schema: Schema, read_only: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid(f"Body expected in request: a JSON object ({schema['name']}).")
    for key in read_only:
        if key in body:
            raise Denied(f"Attribute '{key}' is read-only.")
    try:
        validate(body, schema)
    except SchemaError as exc:
        raise Invalid(f"Provided object does not match schema '{schema['name']}': {exc}"
                      ) from None
    return body


def name(value: str, what: str) -> str:
    """A name that a URL can address again: not empty, no '/', not '.' or '..' (Glance takes
    them and then cannot show or delete what it made: clients resolve the dot segments of a
    URL before sending it)."""
    if not value.strip() or "/" in value or value in (".", ".."):
        raise Invalid(f"Invalid {what} name {value!r}: it may not be empty, '.', '..' or "
                      "contain '/'")
    return value


def property_definition(value: dict[str, Any]) -> dict[str, Any]:
    out = {k: value[k] for k in PROPERTY_KEYS if k in value}
    if isinstance(out.get("items"), dict):
        out["items"] = {k: v for k, v in out["items"].items() if k in ITEM_KEYS}
    return out


def property_map(props: dict[str, Any], strict: Schema | None = None) -> dict[str, Any]:
    """name -> definition, as kept; `strict` checks each definition against a closed schema
    (Glance does for the properties of a new object)."""
    out = {}
    for key, value in props.items():
        if not key or len(key) > NAME_MAX or "\x00" in key:
            raise Invalid(f"Invalid property name {key!r}: 1 to {NAME_MAX} characters")
        if strict is not None:
            check(value, strict, ())
        out[key] = property_definition(value)
    return out


@dataclass
class ListParams:
    limit: int = DEFAULT_LIMIT
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    filters: dict[str, str] = field(default_factory=dict)


def list_params(params: list[tuple[str, str]], sort_keys: tuple[str, ...]) -> ListParams:
    """limit, marker, sort_key, sort_dir; anything else is a filter (the caller picks)."""
    q = ListParams()
    for key, value in params:
        if key == "limit":
            q.limit = parse_limit(value, MAX_LIMIT)
        elif key == "marker":
            q.marker = value
        elif key == "sort_key":
            if value not in sort_keys:
                raise Invalid(f"Invalid sort key: {value}. It must be one of the following: "
                              f"{', '.join(sort_keys)}.")
            q.sort_key = value
        elif key == "sort_dir":
            if value not in ("asc", "desc"):
                raise Invalid(f"Invalid sort direction: {value}")
            q.sort_dir = value
        else:
            q.filters[key] = value
    return q


def page(rows: list[Any], q: ListParams, name_of: Any, missing: Exception
         ) -> tuple[list[Any], bool]:
    """One page of `rows` in the asked order (ties by created_at, then id, in the same
    direction, as Glance's paginate_query) after the row named `q.marker`, and whether more
    follow. None sorts first ascending, on every database. `missing` is raised for an unknown
    marker."""
    def key(row: Any) -> tuple[Any, ...]:
        parts = []
        for attr in dict.fromkeys((q.sort_key, "created_at", "id")):
            v = getattr(row, attr)
            v = (v is not None, v if v is not None else 0)
            parts.append(v if q.sort_dir == "asc" else Descending(v))
        return tuple(parts)
    ordered = sorted(rows, key=key)
    start = 0
    if q.marker is not None:
        names = [name_of(r) for r in ordered]
        if q.marker not in names:
            raise missing
        start = names.index(q.marker) + 1
    return ordered[start:start + q.limit], start + q.limit < len(ordered)
