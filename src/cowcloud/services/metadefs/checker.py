"""A small JSON Schema checker: just the keywords the metadefs schemas use.

Glance validates every metadefs body against the schema it serves at /v2/schemas/metadefs/*;
cowcloud does the same with the documents in schemas.py, so what clients read there is exactly
what the API accepts. The jsonschema package is not a dependency of the server, and these
schemas need only: type, enum, required, properties, additionalProperties, items, minItems,
uniqueItems, maxLength, minLength, minimum, maximum, allOf and local $ref. Unknown keywords
(format, default, description, readOnly) are annotations and ignored, as jsonschema does
without a format checker.
"""

from __future__ import annotations

from typing import Any

from ...errors import Invalid

Schema = dict[str, Any]

_TYPES: dict[str, Any] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    # JSON has one number type: true/false are not numbers, 1.0 is an integer
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class SchemaError(Invalid):
    """The instance does not match: the message names the failing value and where it is."""


def validate(instance: Any, schema: Schema, root: Schema | None = None) -> None:
    """Raises SchemaError on the first mismatch."""
    _check(instance, schema, root or schema, "")


def _fail(path: str, message: str) -> None:
    raise SchemaError(f"{message} (at {path})" if path else message)


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise ValueError(f"unsupported $ref {ref!r}")
        schema = root["definitions"][ref.removeprefix("#/definitions/")]
    return schema


def _check(value: Any, schema: Schema, root: Schema, path: str) -> None:
    schema = _resolve(schema, root)
    for part in schema.get("allOf", ()):
        _check(value, part, root, path)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](value) for k in kinds):
            _fail(path, f"{value!r} is not of type {', '.join(repr(k) for k in kinds)}")
    if "enum" in schema and value not in schema["enum"]:
        _fail(path, f"{value!r} is not one of {schema['enum']!r}")
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL refuses NUL in text: a 400 here, not a 500 there
            _fail(path, "strings may not contain NUL characters")
        if len(value) > schema.get("maxLength", len(value)):
            _fail(path, f"{value!r} is too long (at most {schema['maxLength']} characters)")
        if len(value) < schema.get("minLength", 0):
            _fail(path, f"{value!r} is too short")
    elif _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            _fail(path, f"{value!r} is less than the minimum of {schema['minimum']!r}")
        if "maximum" in schema and value > schema["maximum"]:
            _fail(path, f"{value!r} is greater than the maximum of {schema['maximum']!r}")
    elif isinstance(value, list):
        _check_array(value, schema, root, path)
    elif isinstance(value, dict):
        _check_object(value, schema, root, path)


def _check_array(value: list[Any], schema: Schema, root: Schema, path: str) -> None:
    if len(value) < schema.get("minItems", 0):
        _fail(path, f"{value!r} is too short (at least {schema['minItems']} items)")
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for item in value:
            if item in seen:
                _fail(path, f"{value!r} has non-unique elements")
            seen.append(item)
    if "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], root, f"{path}[{i}]")


def _check_object(value: dict[str, Any], schema: Schema, root: Schema, path: str) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            _fail(path, f"'{key}' is a required property")
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    unexpected = sorted(k for k in value if k not in props)
    if extra is False and unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        _fail(path, f"Additional properties are not allowed ({names} "
                    f"{'was' if len(unexpected) == 1 else 'were'} unexpected)")
    for key, item in value.items():
        sub = f"{path}.{key}" if path else key
        if key in props:
            _check(item, props[key], root, sub)
        elif isinstance(extra, dict):
            _check(item, extra, root, sub)
