"""Password and secret hashing with argon2id (argon2-cffi), and random secrets.

The parameters are OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 35 ms a hash on
a 2-core machine, where argon2-cffi's default (64 MiB, 4 lanes) takes ten times that, which every
login and every CLI call would pay. Hashes keep their parameters, so older ones still verify.
A login for an unknown user verifies against a dummy hash, so it costs what a real one costs and
its answer cannot be told apart by time. At most HASH_SLOTS hashes run at once, so a burst of
logins cannot take the machine's memory.
"""

from __future__ import annotations

import base64
import secrets
import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_SLOTS = 4
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_slots = threading.BoundedSemaphore(HASH_SLOTS)


def hash_secret(secret: str) -> str:
    with _slots:
        return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches; with no stored hash, spends the same time and says False."""
    with _slots:
        try:
            return _hasher.verify(stored_hash or _dummy_hash(), secret) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def random_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret without padding (application credential secrets, passwords)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")
