"""Application credentials: a secret that stands for a user on one project, with some of its roles.

The secret is shown once, at creation, and stored as an argon2 hash. The roles are those of the
creating token (or a subset named at creation); a token made from the credential carries them only
while the user still holds them. Deleting the credential invalidates its tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.errors import Duplicate
from ..db.models import ApplicationCredential, Role, utcnow
from .errors import Conflict, Invalid, NotFound
from .identity.common import plain
from .identity.records import RoleRecord
from .passwords import hash_secret, random_secret


def parse_expiry(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(f"expires_at: not an ISO 8601 time: {value!r}") from exc
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    if when <= utcnow():
        raise Invalid("expires_at: the time is in the past")
    return when


def is_expired(cred: ApplicationCredential) -> bool:
    return cred.expires_at is not None and cred.expires_at <= utcnow()


def delegated_roles(s: Session, cred: ApplicationCredential) -> list[Role]:
    ids = list(cred.roles.get("ids", []))
    return list(s.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name))) if ids else []


@dataclass(frozen=True)
class AppCredRecord:
    """An application credential as the services hand it out, with the roles it delegates."""

    id: str
    name: str
    description: str
    user_id: str
    project_id: str
    unrestricted: bool
    expires_at: datetime | None
    roles: list[RoleRecord]

    @classmethod
    def of(cls, cred: ApplicationCredential, roles: list[Role]) -> AppCredRecord:
        return cls(cred.id, cred.name, cred.description, cred.user_id, cred.project_id,
                   cred.unrestricted, cred.expires_at, [RoleRecord.of(r) for r in roles])


class AppCreds:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user_id: str, project_id: str, token_roles: list[Any], name: str,
               description: str = "", secret: str | None = None, expires_at: Any = None,
               roles: list[dict[str, Any]] | None = None,
               unrestricted: bool = False) -> tuple[AppCredRecord, str]:
        """Returns the credential and its secret (given or generated). `token_roles` are the
        creating token's (anything with an id and a name)."""
        if not name:
            raise Invalid("application_credential.name is required")
        chosen = token_roles
        if roles:
            chosen = [r for r in token_roles
                      if any(ref.get("id") == r.id or ref.get("name") == r.name for ref in roles)]
            if len(chosen) != len(roles):
                raise Invalid("application_credential.roles: a role is not one the user holds "
                              "on the project")
        if not chosen:
            raise Invalid("application_credential.roles: the token carries no roles to delegate")
        secret = secret or random_secret(48)
        cred = ApplicationCredential(name=name, description=description or "", user_id=user_id,
                                     project_id=project_id, secret_hash=hash_secret(secret),
                                     roles={"ids": [r.id for r in chosen]},
                                     unrestricted=bool(unrestricted),
                                     expires_at=parse_expiry(expires_at))
        try:
            with self.db.session() as s:
                s.add(cred)
        except Duplicate as exc:
            raise Conflict(f"An application credential named {name!r} already exists for "
                           f"this user.") from exc
        return AppCredRecord(cred.id, cred.name, cred.description, user_id, project_id,
                             cred.unrestricted, cred.expires_at,
                             [RoleRecord(r.id, r.name, r.description) for r in chosen]), secret

    def of_user(self, user_id: str, name: str | None = None) -> list[AppCredRecord]:
        if not plain(user_id) or (name is not None and not plain(name)):
            return []  # a NUL names nothing (and PostgreSQL would refuse the query)
        with self.db.session() as s:
            query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
            if name:
                query = query.where(ApplicationCredential.name == name)
            return [AppCredRecord.of(c, delegated_roles(s, c))
                    for c in s.scalars(query.order_by(ApplicationCredential.name))]

    @staticmethod
    def _find(s: Session, user_id: str, cred_id: str) -> ApplicationCredential:
        cred = s.get(ApplicationCredential, cred_id) if plain(cred_id) else None
        if cred is None or cred.user_id != user_id:
            raise NotFound(f"Could not find application credential: {cred_id}.")
        return cred

    def get(self, user_id: str, cred_id: str) -> AppCredRecord:
        with self.db.session() as s:
            cred = self._find(s, user_id, cred_id)
            return AppCredRecord.of(cred, delegated_roles(s, cred))

    def delete(self, user_id: str, cred_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._find(s, user_id, cred_id))
