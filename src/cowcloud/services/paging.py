"""What every paged listing shares: the limit parameter, and sort keys of mixed directions."""

from __future__ import annotations

from typing import Any

from .errors import Invalid


def parse_limit(value: str, most: int) -> int:
    """?limit=: a whole number, at most `most` (Glance caps rather than refuses), 400 if not."""
    try:
        limit = int(value)
    except ValueError:
        raise Invalid("limit param must be an integer") from None
    if limit < 0:
        raise Invalid("limit param must be positive")
    return min(limit, most)


class Descending:
    """Reverses one sort value, so keys of mixed directions fit one Python sort."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: Descending) -> bool:
        return bool(other.v < self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and bool(self.v == other.v)
