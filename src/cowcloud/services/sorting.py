"""Sorting listings in Python by several keys, each ascending or descending."""

from __future__ import annotations

from typing import Any


class Descending:
    """Reverses one sort value, so keys of mixed directions fit one Python sort."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: Descending) -> bool:
        return bool(other.v < self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and bool(self.v == other.v)
