"""What every identity resource shares: names, the built-in roles, lookups that 404, and the
conflicts a unique or foreign key turns into."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.errors import Duplicate
from ...db.models import Base
from ..errors import Conflict, NotFound

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
ADMIN = "admin"
BUILTIN_ROLES = ("admin", "member", "reader")
IMPLIES = {"admin": "member", "member": "reader"}

M = TypeVar("M", bound=Base)


def plain(value: Any) -> bool:
    """An id or name from a request fit for a query: a string, not too long, without NUL."""
    return isinstance(value, str) and len(value) <= 255 and "\x00" not in value


def expand_implied(names: Iterable[str]) -> set[str]:
    """Roles admin > member > reader imply one another, as in Keystone's bootstrap."""
    out = set()
    for name in names:
        while name and name not in out:
            out.add(name)
            name = IMPLIES.get(name, "")
    return out


def get(s: Session, model: type[M], key: str | None, what: str, lock: bool = False) -> M:
    """The row, or 404. `lock` holds it (PostgreSQL: FOR UPDATE) until the transaction ends, so a
    concurrent delete of it waits for, then sees, what this transaction adds in its name."""
    # an id from a URL with a NUL (or too long to be one) names nothing: no query, which
    # PostgreSQL would refuse with a 500
    row = s.get(model, key, with_for_update=lock or None) if key and plain(key) else None
    if row is None:
        raise NotFound(f"Could not find {what}: {key}.")
    return row


def filtered(s: Session, model: type[M], **filters: Any) -> list[M]:
    query = select(model)
    for name, value in filters.items():
        if isinstance(value, str) and not plain(value):
            return []  # ?name=a%00b matches nothing (and would fail on PostgreSQL)
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return list(s.scalars(query.order_by(model.name)))  # type: ignore[attr-defined]


def set_fields(row: Any, changes: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in changes:
            setattr(row, key, changes[key])


@contextmanager
def unique(what: str, name: str) -> Iterator[None]:
    try:
        yield
    except Duplicate as exc:
        raise Conflict(f"Conflict occurred attempting to store {what} - duplicate entry "
                       f"'{name}'.") from exc


@contextmanager
def changed_meanwhile(what: str, key: str) -> Iterator[None]:
    """A write that a concurrent one made impossible (a foreign key now dangling, a unique row
    now taken): 409, the caller may look again and retry."""
    try:
        yield
    except Duplicate as exc:
        raise Conflict(f"The {what} {key} was changed by another request at the same time; "
                       "try again.") from exc
