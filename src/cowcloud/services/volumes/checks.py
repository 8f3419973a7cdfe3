"""Checks on request bodies every volume route shares: Cinder's validation, Cinder's words."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .errors import InvalidInput

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                     r"[0-9a-fA-F]{12}$")
MAX_SIZE_GIB = 1 << 20  # 1 PiB: past any pool here, and past what a bad client should send


def canonical_id(value: Any) -> str | None:
    """A UUID in its dashed lower-case form, or None when `value` is not one."""
    if not isinstance(value, str) or not UUID_RE.match(value):
        return None
    return str(uuid.UUID(value))


def body_of(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise InvalidInput(f"Missing required element '{key}' in request body.")
    return body[key]


def text(value: Any, field: str, *, max_len: int = 255, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    if len(value) > max_len:
        raise InvalidInput(f"{field} has more than {max_len} characters")
    return value


def size_gib(value: Any, field: str = "size") -> int:
    """Cinder takes "10" as well as 10; never a bool, a fraction or 0."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0 or value > MAX_SIZE_GIB:
        raise InvalidInput(f"'{field}' must be an integer between 1 and {MAX_SIZE_GIB} "
                           f"(GiB), not {value!r}")
    return value


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no",
                                                    "on", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    raise InvalidInput(f"{field} must be a boolean, not {value!r}")


def metadata(value: Any, field: str = "metadata") -> dict[str, str]:
    """Cinder's metadata: string keys of 1-255 characters, string values up to 255."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object of strings")
    for k, v in value.items():
        if not isinstance(k, str) or not 0 < len(k) <= 255:
            raise InvalidInput(f"{field} keys must be 1-255 characters")
        if not isinstance(v, str) or len(v) > 255:
            raise InvalidInput(f"{field} value of {k!r} must be a string of at most 255 "
                               "characters")
    return dict(value)
