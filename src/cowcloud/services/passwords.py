"""Password and secret hashing with argon2id (argon2-cffi), and random secrets.

The parameters are OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 35 ms a hash on
a 2-core machine, where argon2-cffi's default (64 MiB, 4 lanes) takes ten times that, which every
login and every CLI call would pay. Hashes keep their parameters, so older ones still verify.
A login for an unknown user verifies against a dummy hash, so it costs what a real one costs and
its answer cannot be told apart by time.

How many hashes run at once: at most HASH_SLOTS, so a burst of logins cannot take the machine's
memory. While other requests are being served (any request with a token, noted by
`note_request`, in the last BUSY_SECONDS), only one core fewer than the machine has hashes at the
server's priority; the hashes beyond run in threads at a lower priority (HASH_NICE). argon2 runs
without the GIL, so hashes on every core at the server's priority left the server's own thread
(the event loop, where a read takes a millisecond) waiting in the run queue behind them: a read
among logins took 167 ms at the median. Now one core is the reads' whenever they want it, the
logins have the rest, and every core when nobody reads. (All hashes at a low priority would do
for the reads too, but on a busy machine would starve the logins behind everything else.)
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_SLOTS = 4
HASH_NICE = 10  # CFS weight 110 against the server's 1024: reads get ~90% of a core they share
BUSY_SECONDS = 0.5
T = TypeVar("T")
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class HashGate:
    """Runs hashes: `narrow` at once at the server's priority while other requests are served
    (`wide` when none are), the rest up to `wide` in threads of a lower priority."""

    def __init__(self, wide: int, narrow: int, busy_seconds: float = BUSY_SECONDS,
                 nice: int = HASH_NICE) -> None:
        self.wide = wide
        self.narrow = max(1, min(narrow, wide))
        self.busy_seconds = busy_seconds
        self.nice = nice
        self.running = 0  # at the server's priority
        self.running_low = 0
        self._tickets = 0  # handed out in order of asking
        self._serving = 0  # the ticket whose turn it is
        self.last_request = -busy_seconds
        self._cond = threading.Condition()
        self._low: ThreadPoolExecutor | None = None

    def busy(self) -> bool:
        return time.monotonic() - self.last_request < self.busy_seconds

    def note_request(self) -> None:
        self.last_request = time.monotonic()  # a float store: atomic, no lock needed

    def run(self, fn: Callable[..., T], *args: object) -> T:
        low = self._acquire()
        try:
            return self._low_pool().submit(fn, *args).result() if low else fn(*args)
        finally:
            with self._cond:
                if low:
                    self.running_low -= 1
                else:
                    self.running -= 1
                self._cond.notify_all()

    def _acquire(self) -> bool:
        """A slot, in the order asked for (a login waits behind the ones before it, never
        behind later ones: no unlucky request waits for many rounds); True when it is a
        low-priority one."""
        with self._cond:
            ticket = self._tickets
            self._tickets += 1
            try:
                while True:
                    if ticket <= self._serving:  # <=: one given up may have passed it
                        busy = self.busy()
                        if self.running < (self.narrow if busy else self.wide):
                            self.running += 1
                            return False
                        if busy and self.running + self.running_low < self.wide:
                            self.running_low += 1
                            return True
                    # re-checked at least every busy_seconds: the limit widens with time
                    self._cond.wait(self.busy_seconds)
            finally:
                self._serving += 1  # taken (or given up, by an exception): the next one's turn
                self._cond.notify_all()

    def _low_pool(self) -> ThreadPoolExecutor:
        with self._cond:
            if self._low is None:
                self._low = ThreadPoolExecutor(max(1, self.wide - self.narrow),
                                               thread_name_prefix="hash-low",
                                               initializer=self._lower_priority)
            return self._low

    def _lower_priority(self) -> None:
        # Linux: the nice value is per thread (setpriority on the thread's id); raised from the
        # server's own (never lowered: that needs a privilege), so no privilege is needed
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid,
                           min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice))
        except OSError:
            pass


_gate = HashGate(wide=HASH_SLOTS, narrow=(os.cpu_count() or 2) - 1)


def note_request() -> None:
    """Another request than a login is being served: keep a core for such requests."""
    _gate.note_request()


def hash_secret(secret: str) -> str:
    return _gate.run(_hasher.hash, secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches; with no stored hash, spends the same time and says False."""
    return _gate.run(_verify, stored_hash or _dummy_hash(), secret) and stored_hash is not None


def _verify(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def random_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret without padding (application credential secrets, passwords)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")
