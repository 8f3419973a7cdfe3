"""Keystone request bodies: the {"key": {...}} part, names and the fields a change may set,
each of its type (400 otherwise, never a 500 at the database)."""

from __future__ import annotations

from typing import Any

from ..bodies import has_lone_surrogate
from ..errors import Invalid

# Keystone's schemas: project and domain names up to 64 characters, user and role names 255
SHORT_NAME, LONG_NAME = 64, 255


def section(body: Any, key: str) -> dict[str, Any]:
    """The {"key": {...}} part of a request body, or a 400 naming what is missing."""
    part = body.get(key) if isinstance(body, dict) else None
    if not isinstance(part, dict):
        raise Invalid(f"Expecting to find {key} in request body.")
    if has_lone_surrogate(part):
        raise Invalid(f"Invalid input for {key}: a string holds a lone surrogate (an escape "
                      "from \\ud800 to \\udfff), which is not text.")
    return part


def name(part: dict[str, Any], what: str, limit: int = LONG_NAME) -> str:
    value = part.get("name")
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise Invalid(f"Invalid input for field '{what}.name': a string of 1 to {limit} "
                      f"characters, not only blanks, is required.")
    return value


def changes(part: dict[str, Any], allowed: tuple[str, ...], what: str,
            name_limit: int = LONG_NAME) -> dict[str, Any]:
    """The fields asked for, each of its type."""
    out = {k: v for k, v in part.items() if k in allowed}
    for key, value in out.items():
        if key == "enabled":
            if not isinstance(value, bool):
                raise Invalid(f"{key}: true or false")
        elif key == "name":
            name(part, what, name_limit)
        elif value is not None and (not isinstance(value, str) or "\x00" in value
                                    or (key != "description" and len(value) > 255)):
            raise Invalid(f"{key}: a string")
    if "description" in out and out["description"] is None:
        out["description"] = ""  # Keystone takes null for no description
    return out
