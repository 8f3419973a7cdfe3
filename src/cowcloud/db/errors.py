"""Database integrity errors, translated once: a broken unique or foreign-key constraint becomes
Duplicate, a Conflict of the package's tree, so services never name SQLAlchemy's exceptions.

On both SQLite and PostgreSQL a constraint breaks when a concurrent writer got there first (the
same name, the same id) or deleted what the write refers to: services catch Duplicate and either
look again (the write was done by the other request) or answer 409 in their own words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict


class Duplicate(Conflict):
    """A write broke a unique or foreign-key constraint."""


@contextmanager
def constraints() -> Iterator[None]:
    """Raises Duplicate for a constraint that a write (or the commit) inside breaks."""
    try:
        yield
    except IntegrityError as exc:
        raise Duplicate(f"a concurrent change conflicts with this one: {exc.orig}") from exc


@contextmanager
def savepoint(s: Session) -> Iterator[None]:
    """A nested transaction flushed at its end: a constraint it breaks rolls back only it and
    raises Duplicate, and the session goes on."""
    with constraints(), s.begin_nested():
        yield
        s.flush()
