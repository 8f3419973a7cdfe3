"""Password and secret hashing with argon2id (argon2-cffi), and random secrets.

The parameters are OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 35 ms a hash on
a 2-core machine, where argon2-cffi's default (64 MiB, 4 lanes) takes ten times that, which every
login and every CLI call would pay. Hashes keep their parameters, so older ones still verify.
A login for an unknown user verifies against a dummy hash, so it costs what a real one costs and
its answer cannot be told apart by time.

How many hashes run at once: at most HASH_SLOTS, so a burst of logins cannot take the machine's
memory; and while other requests are being served (any request with a token, noted by
`note_request`, in the last BUSY_SECONDS), one core fewer than the machine has. argon2 runs
without the GIL, so hashes on every core left the server's own thread (the event loop, where a
read takes a millisecond) waiting in the run queue behind them: a read among logins took 167 ms
at the median. With a core kept for it, reads do not wait; with nobody reading, logins have
every core.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_SLOTS = 4
BUSY_SECONDS = 0.5
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class HashGate:
    """A semaphore whose size is `wide` while no other request is served, else `narrow`."""

    def __init__(self, wide: int, narrow: int, busy_seconds: float = BUSY_SECONDS) -> None:
        self.wide = wide
        self.narrow = max(1, min(narrow, wide))
        self.busy_seconds = busy_seconds
        self.running = 0
        self.last_request = -busy_seconds
        self._cond = threading.Condition()

    def limit(self) -> int:
        busy = time.monotonic() - self.last_request < self.busy_seconds
        return self.narrow if busy else self.wide

    def note_request(self) -> None:
        self.last_request = time.monotonic()  # a float store: atomic, no lock needed

    def __enter__(self) -> None:
        with self._cond:
            # wait_for re-checks at least every busy_seconds: the limit widens with time
            while self.running >= self.limit():
                self._cond.wait(self.busy_seconds)
            self.running += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.running -= 1
            self._cond.notify()


_gate = HashGate(wide=HASH_SLOTS, narrow=(os.cpu_count() or 2) - 1)


def note_request() -> None:
    """Another request than a login is being served: keep a core for such requests."""
    _gate.note_request()


def hash_secret(secret: str) -> str:
    with _gate:
        return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches; with no stored hash, spends the same time and says False."""
    with _gate:
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
