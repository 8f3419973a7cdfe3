"""The metadefs refusals, worded as Glance words them (glance/common/exception.py)."""

from __future__ import annotations

from ..errors import Conflict, Denied, Invalid, NotFound

__all__ = ["Conflict", "Denied", "Invalid", "NamespaceNotFound", "NotFound", "Protected"]


class NamespaceNotFound(NotFound):
    """No such namespace, or a private one of another project: both 404, as in Glance."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Metadata definition namespace={name} was not found.")


class Protected(Denied):
    """A protected namespace keeps itself and its contents until `protected` is set false."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"Metadata definition {kind} {name} is protected and cannot be "
                         "deleted.")
