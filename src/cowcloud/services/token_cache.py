"""Validated tokens, kept so that a read does not pay the revocation check and the five to eight
queries of the rows its token names (user, domains, project, roles, application credential).

Correctness before speed: a revoked token, a disabled or deleted user, project or domain, a role
taken away, a password changed, must be refused at once. Every one of those is a write to an
identity table, so every commit that writes to any table but the image service's empties the
cache, after the commit and before the request that wrote gets its answer (Database.
watch_writes). A validation that read the rows before such a commit and finishes after it is
not kept (the generation it started under is gone). What the cache cannot see, writes by another
process on a shared database (several API processes on PostgreSQL), it notices within
MAX_AGE_SECONDS, as keystonemiddleware's token cache does within its token_cache_time (300 s).

Time still counts on every hit: the token's expiry and an application credential's are checked
again. Its signature is checked again whenever the keys were loaded again since it was kept (a
rotation, so a key removed by it refuses the token); with the same keys the same token gets the
same answer, so a hit under them skips the decryption (a fifth of a cached read's CPU).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .authn import TokenInfo

MAX_AGE_SECONDS = 30.0
MAX_ENTRIES = 4096  # a few KiB each (the rows of user, project, domains, roles)
# Tables no token validation reads: writes there leave the cache alone (image uploads, tasks
# and metadefs write all the time). Any other table, including ones added later, empties it.
UNRELATED_PREFIXES = ("image", "task", "metadef")


class TokenCache:
    def __init__(self, max_age: float = MAX_AGE_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[TokenInfo, float, int]] = OrderedDict()
        self.generation = 0

    def get(self, token: str) -> TokenInfo | None:
        found = self.lookup(token)
        return found[0] if found else None

    def lookup(self, token: str) -> tuple[TokenInfo, int] | None:
        """The kept TokenInfo and the key loads (FernetKeys.loads) its token was checked under."""
        with self._lock:
            found = self._entries.get(token)
            if found is None:
                return None
            info, stored, keys = found
            if time.monotonic() - stored > self.max_age:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return info, keys

    def put(self, token: str, info: TokenInfo, generation: int, keys: int = -1) -> None:
        """Keeps `info` if nothing was written since `generation` was read (before the rows
        were); `keys`: the key loads its token was decrypted under (-1: unknown)."""
        with self._lock:
            if generation != self.generation:
                return
            self._entries[token] = (info, time.monotonic(), keys)
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def tables_written(self, tables: frozenset[str]) -> None:
        """Database.watch_writes callback."""
        if any(not t.startswith(UNRELATED_PREFIXES) for t in tables):
            self.clear()

    def __len__(self) -> int:
        return len(self._entries)
