"""Fernet tokens, as Keystone makes them: signed, encrypted, expiring, revocable by audit id.

A token carries who (user id), how (methods), the scope (project or domain id, or none), the
application credential it came from, its audit ids and its expiry; nothing else. Roles are looked
up when it is validated, so a role removed takes effect at once. The keys live in
DATA_DIR/fernet-keys (folder 0700, files 0600, named 0, 1, ...; the highest signs, all verify), made
on first start, so tokens survive a restart.

Rotation is keystone-manage fernet_rotate's: key 0 is the staged key (it verifies but does not sign
until a rotation promotes it to the highest number, so every node holding the repository knows a
key before anything is signed with it); the oldest keys beyond max_active go. A running server sees
a rotation at its next token operation (the folder's mtime changes), with no restart.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..db import Database
from ..db.errors import Duplicate
from ..db.models import RevokedToken, utcnow
from ..errors import Error
from .errors import AuthenticationFailed

log = logging.getLogger("cowcloud.identity")


class TokenInvalid(AuthenticationFailed):
    """Not a token of ours, expired or revoked; the reason is logged, never told."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass(frozen=True)
class TokenPayload:
    user_id: str
    methods: tuple[str, ...]
    expires_at: datetime
    issued_at: datetime = field(default_factory=utcnow)
    project_id: str | None = None
    domain_id: str | None = None
    app_cred_id: str | None = None
    audit_ids: tuple[str, ...] = field(default_factory=lambda: (new_audit_id(),))

    @property
    def audit_id(self) -> str:
        return self.audit_ids[0]

    def to_json(self) -> bytes:
        raw = {"u": self.user_id, "m": list(self.methods), "p": self.project_id,
               "d": self.domain_id, "c": self.app_cred_id, "a": list(self.audit_ids),
               "i": self.issued_at.timestamp(), "e": self.expires_at.timestamp()}
        return json.dumps({k: v for k, v in raw.items() if v is not None},
                          separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TokenPayload:
        raw = json.loads(data)
        return cls(user_id=raw["u"], methods=tuple(raw["m"]), project_id=raw.get("p"),
                   domain_id=raw.get("d"), app_cred_id=raw.get("c"), audit_ids=tuple(raw["a"]),
                   issued_at=datetime.fromtimestamp(raw["i"], timezone.utc),
                   expires_at=datetime.fromtimestamp(raw["e"], timezone.utc))


KEYS_FOLDER = "fernet-keys"  # in DATA_DIR


class KeyRepositoryError(Error):
    """The key folder cannot be used as it is; the message names the folder or file and why."""


class FernetKeys:
    """The key repository: loaded at start (one key made when empty), again after a rotation."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fernet: MultiFernet | None = None
        self._loaded_mtime = 0
        self.loads = 0  # how many times the keys were loaded: a token checked under the same
        # count was checked with the same keys

    def load(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if not self._key_files():
            self._write_key("0")
        self._loaded_mtime = self.directory.stat().st_mtime_ns
        keys = [key for key in map(self._read_key, self._key_files()) if key is not None]
        if not keys:
            raise KeyRepositoryError(f"{self.directory}: no usable key, every key file is empty")
        self._fernet = MultiFernet(keys)
        self.loads += 1

    @staticmethod
    def _read_key(path: Path) -> Fernet | None:
        """The key in `path`; None when it is gone (purged by a rotation right now: the mtime
        check reloads next time) or empty (a full disk, a copy cut short: Keystone skips those
        too, rather than stop validating every token)."""
        try:
            raw = path.read_bytes().strip()
        except FileNotFoundError:
            return None
        if not raw:
            log.warning("ignoring the empty fernet key file %s", path)
            return None
        try:
            return Fernet(raw)
        except ValueError:
            raise KeyRepositoryError(f"{path} is not a Fernet key (32 url-safe base64-encoded "
                                     "bytes)") from None

    def rotate(self, max_active: int = 3) -> list[str]:
        """Promotes the staged key 0 to primary (highest number), stages a new 0, removes the
        oldest keys beyond `max_active` (staged and primary included). The key names left."""
        if max_active < 2:
            raise ValueError("max_active must be at least 2: the staged key and the primary")
        if not self.directory.is_dir():
            # keystone-manage refuses too: keys made here would sign tokens no server reads
            raise KeyRepositoryError(f"{self.directory} is not a key folder (the server makes "
                                     "it at its first start): is this the server's data_dir?")
        self.load()
        highest = max(int(p.name) for p in self._key_files())
        staged = self.directory / "0"
        if self._read_key(staged) is not None:
            os.rename(staged, self.directory / str(highest + 1))  # atomic: no moment without it
        else:  # an empty staged key is not promoted: a new key signs instead
            staged.unlink(missing_ok=True)
            self._write_key(str(highest + 1))
        self._write_key("0")
        for old in sorted((p for p in self._key_files() if p.name != "0"),
                          key=lambda p: int(p.name))[:-(max_active - 1)]:
            old.unlink()
        self.load()
        return [p.name for p in self._key_files()]

    def _key_files(self) -> list[Path]:
        # ASCII digits only ("²".isdigit() is true, int("²") raises), and files only
        files = [p for p in self.directory.iterdir()
                 if p.name.isascii() and p.name.isdigit() and p.is_file()]
        return sorted(files, key=lambda p: int(p.name), reverse=True)  # primary (highest) first

    def _write_key(self, name: str) -> None:
        """A new key file, whole or not at all: written aside, then linked in under its name
        (which, unlike a rename, fails if the name exists). A server reloading meanwhile never
        reads it half written, and of two processes starting at once one key is kept."""
        aside = self.directory / f".{name}.{uuid.uuid4().hex}.new"  # not a key name: skipped
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
            os.link(aside, self.directory / name)
        except FileExistsError:
            pass
        finally:
            aside.unlink()

    @property
    def fernet(self) -> MultiFernet:
        if self._fernet is None:
            raise RuntimeError("fernet keys not loaded: call load() at start-up")
        try:
            if self.directory.stat().st_mtime_ns != self._loaded_mtime:
                self.load()  # rotated (by `cowcloud fernet rotate`, maybe in another process)
        except FileNotFoundError:
            pass  # keep signing with what is loaded rather than fail every request
        except KeyRepositoryError as exc:  # the same, and say why (once: the mtime is noted)
            log.error("fernet keys not reloaded, the loaded ones stay in use: %s", exc)
        return self._fernet


class Tokens:
    """Issue, decode and revoke tokens; `ttl` is settings.server.token_ttl_seconds."""

    def __init__(self, db: Database, keys: FernetKeys, ttl_seconds: int) -> None:
        self.db = db
        self.keys = keys
        self.ttl = timedelta(seconds=ttl_seconds)

    def expiry(self, cap: datetime | None = None) -> datetime:
        """When a token issued now expires: the TTL, or `cap` (a credential's end) if sooner."""
        expires = utcnow() + self.ttl
        return min(expires, cap) if cap else expires

    def encode(self, payload: TokenPayload) -> str:
        return self.keys.fernet.encrypt(payload.to_json()).decode().rstrip("=")

    def decode(self, token: str) -> TokenPayload:
        """The payload of a token that is ours and unexpired; TokenInvalid otherwise.

        Revocation is checked separately (`is_revoked`), in the validation's own transaction.
        """
        if not token or len(token) > 1024:
            raise TokenInvalid("malformed")
        padded = token + "=" * (-len(token) % 4)
        try:
            payload = TokenPayload.from_json(self.keys.fernet.decrypt(padded.encode()))
        except (InvalidToken, ValueError, KeyError, TypeError) as exc:
            raise TokenInvalid("not a valid token") from exc
        if payload.expires_at <= utcnow():
            raise TokenInvalid("expired")
        return payload

    @staticmethod
    def is_revoked(session: Session, payload: TokenPayload) -> bool:
        return session.get(RevokedToken, payload.audit_id) is not None

    def revoke(self, payload: TokenPayload) -> None:
        """Refuses the token from now on; also prunes rows of tokens that have expired anyway."""
        try:
            with self.db.session() as s:
                s.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
                if s.get(RevokedToken, payload.audit_id) is None:
                    s.add(RevokedToken(audit_id=payload.audit_id, expires_at=payload.expires_at))
        except Duplicate:
            pass  # revoked at the same moment by another request: the row is there
