"""Key pairs (os-keypairs): SSH public keys a user names at boot. Imported, or generated here
as Nova does before 2.92 (the private key is in the answer once and never stored)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import string
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import Duplicate, savepoint
from ...db.models import KeyPair
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import checks
from .errors import BadRequest, ComputeConflict
from .views import Version, isotime

KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "ssh-dss")


# Nova before 2.92 names key pairs with these only
NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_- ")


def check_key(public_key: str) -> None:
    """Nova refuses a key it cannot load (bad base64, a truncated or oversized blob)."""
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None


def fingerprint(public_key: str) -> str:
    """MD5 of the key blob, colon-separated, as Nova (and ssh-keygen -E md5) shows it."""
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _generate() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public + " Generated-by-cowcloud"


def _view(kp: KeyPair, version: Version, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                           "fingerprint": kp.fingerprint}
    if version >= (2, 2):
        out["type"] = kp.type
    if full:
        out.update({"user_id": kp.user_id, "id": kp.id, "created_at": isotime(kp.created_at),
                    "deleted": False, "deleted_at": None, "updated_at": None})
    return out


def _user(ctx: RequestContext, params: dict[str, str], version: Version) -> str:
    wanted = params.get("user_id")
    if wanted and wanted != ctx.user_id:
        if version < (2, 10) or not ctx.is_admin:
            raise BadRequest("Only admins may name another user's key pairs (2.10).")
        return wanted
    return ctx.user_id


def list_keypairs(s: Session, ctx: RequestContext, params: dict[str, str], version: Version
                  ) -> dict[str, Any]:
    enforce(ctx, "compute:keypairs")
    user = _user(ctx, params, version)
    rows = s.scalars(select(KeyPair).where(KeyPair.user_id == user).order_by(KeyPair.name))
    return {"keypairs": [{"keypair": _view(r, version)} for r in rows]}


def find(s: Session, user_id: str, name: str) -> KeyPair | None:
    return s.scalar(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))


def show(s: Session, ctx: RequestContext, name: str, params: dict[str, str], version: Version
         ) -> dict[str, Any]:
    enforce(ctx, "compute:keypairs")
    user = _user(ctx, params, version)
    kp = find(s, user, name)
    if kp is None:
        raise NotFound(f"Keypair {name} not found for user {user}")
    return _view(kp, version, full=True)


def create(s: Session, ctx: RequestContext, body: Any, version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:keypairs")
    spec = checks.body_of(body, "keypair")
    name = checks.name(spec.get("name"), "name")
    if not set(name) <= NAME_CHARS:
        raise BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
    kind = spec.get("type", "ssh")
    if kind != "ssh":
        raise BadRequest("Only ssh key pairs are supported here.")
    user = ctx.user_id
    if spec.get("user_id") and spec["user_id"] != ctx.user_id:
        if version < (2, 10) or not ctx.is_admin:
            raise BadRequest("Only admins may create key pairs for another user (2.10).")
        user = str(spec["user_id"])
    private = None
    public = spec.get("public_key")
    if public is None:
        private, public = _generate()
    elif not isinstance(public, str):
        raise BadRequest("Keypair data is invalid: public_key must be a string")
    else:
        check_key(public)
    if find(s, user, name) is not None:
        raise ComputeConflict(f"Key pair '{name}' already exists.")
    kp = KeyPair(user_id=user, name=name, type="ssh", public_key=public.strip(),
                 fingerprint=fingerprint(public))
    try:
        with savepoint(s):
            s.add(kp)
    except Duplicate:
        raise ComputeConflict(f"Key pair '{name}' already exists.") from None
    out = _view(kp, version)
    out["user_id"] = user
    if private is not None:
        out["private_key"] = private
    return out


def delete(s: Session, ctx: RequestContext, name: str, params: dict[str, str],
           version: Version) -> None:
    enforce(ctx, "compute:keypairs")
    user = _user(ctx, params, version)
    kp = find(s, user, name)
    if kp is None:
        raise NotFound(f"Keypair {name} not found for user {user}")
    s.delete(kp)
