"""Request bodies as Nova's JSON schemas check them, worded as Nova words the refusals."""

from __future__ import annotations

from typing import Any

from .errors import BadRequest


def body_of(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {body!r}. "
                         f"'{key}' is a required property")
    return body[key]


def integer(value: Any, name: str, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value!r} is not of type 'integer', 'string'")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value!r} is not valid under any of the given schemas") from None
    if not minimum <= number <= maximum:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{number} is {'less' if number < minimum else 'greater'} than the "
                         f"{'minimum' if number < minimum else 'maximum'} of "
                         f"{minimum if number < minimum else maximum}")
    return number


def number(value: Any, name: str, minimum: float = 0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.") from None
    if out < minimum or out != out:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value} is less than the minimum of {minimum}")
    return out


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                     f"{value!r} is not of type 'boolean'")


def name(value: Any, field: str = "name", max_len: int = 255) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. "
                         f"{value!r} does not match '^(?! )[\\\\x20-\\\\x7E]{{1,{max_len}}}"
                         f"(?<! )$'")
    if value != value.strip():
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         "Leading or trailing whitespace is not allowed")
    return value


def string_map(value: Any, field: str, allow_null: bool = False) -> dict[str, str | None]:
    """A {key: value} of strings of 1-255 characters (values null where allowed)."""
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. "
                         f"{value!r} is not of type 'object'")
    out: dict[str, str | None] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not 1 <= len(k) <= 255:
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. "
                             f"{k!r} does not match any of the regexes")
        if v is None and allow_null:
            out[k] = None
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str) or len(v) > 255:
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. "
                             f"{v!r} is not of type 'string' or is longer than 255")
        out[k] = v
    return out
