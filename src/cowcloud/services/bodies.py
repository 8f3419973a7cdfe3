"""What every JSON request body is checked for, whichever service reads it."""

from __future__ import annotations

from typing import Any


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string in `value` (an object key too) holds a lone surrogate. json.loads makes
    one of the escape "\\ud800", and it is no Unicode text: no database and no response can
    encode it (a 500, after the write sometimes, and then on every read)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            todo.extend(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False
