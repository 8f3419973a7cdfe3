"""Fencing emulated for one cluster folder: a blocklist that every backend sharing it consults.

    CLUSTER/blocklist.json     {client id: expiry (Unix time)}, replaced atomically
    CLUSTER/.blocklist.lock    flock target for changing it

A client is one LocalBackend instance ("HOST:PID/NONCE", as its locks show it). Every device
request of a backend (I/O and structural changes alike: handles.py calls `check`) first looks
whether its own id is listed, so a blocklisted backend is refused with Fenced in this process
and in any other process sharing the folder, as the OSDs refuse a blocklisted Ceph client.

How faithful: the refusal is enforced by the fenced backend's own code (one stat() per request,
the file re-read only when it changed), not by a server in between; a request already past the
check completes, as one already at the OSD does. Unlike Ceph, devices the client had open work
again after unblocklist (Ceph needs them reopened). Listings (stat, exists, lock_owners) read
files directly and are not refused.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from ..base import check_expiry
from ..contract import BlocklistEntry
from ..errors import Fenced, InvalidArgument, NotFound, StorageError
from . import meta as metadata
from ._errors import map_errors

DEFAULT_EXPIRY = 3600.0  # seconds, as Ceph's mon_osd_blocklist_default_expire
_CLIENT = re.compile(r"^[A-Za-z0-9._-]{1,200}:\d{1,10}/\d{1,10}$")


def check_client(client: str) -> str:
    if not isinstance(client, str) or not _CLIENT.match(client):
        raise InvalidArgument(f"invalid client id {client!r}: use one client_id() or a lock "
                              "owner's address gives (HOST:PID/NONCE)")
    return client


class Blocklist:
    def __init__(self, root: Path) -> None:
        self._path = root / "blocklist.json"
        self._lock = root / ".blocklist.lock"
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime, size) of what we read
        self._entries: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        """Every entry, expired ones included; re-read only when the file changed."""
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen:
            try:
                raw = json.loads(self._path.read_bytes())
            except FileNotFoundError:
                return {}  # replaced between stat and read: the next call reads the new one
            except ValueError as exc:
                raise StorageError(f"blocklist {self._path} is unreadable: {exc}") from exc
            self._entries = {str(k): float(v) for k, v in raw.items()}
            self._seen = key
        return self._entries

    def current(self) -> dict[str, float]:
        now = time.time()
        return {c: until for c, until in self._read().items() if until > now}

    def check(self, client: str) -> None:
        """Fenced if `client` is blocklisted: called before each request of that client."""
        until = self.current().get(client)
        if until is not None:
            when = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
            raise Fenced(f"client {client} is blocklisted until {when}: it was fenced "
                         "(another host took its devices over); unblocklist it to go on")

    def entries(self) -> list[BlocklistEntry]:
        return [BlocklistEntry(c, datetime.fromtimestamp(u, UTC))
                for c, u in sorted(self.current().items())]

    async def add(self, client: str, expire_seconds: float | None) -> None:
        expire = check_expiry(expire_seconds) or DEFAULT_EXPIRY
        async with metadata.FileLock(self._lock):
            entries = self.current()
            if client in entries:
                return  # kept with its expiry, as Ceph's mon keeps an entry it has
            entries[client] = time.time() + expire
            self._write(entries)

    async def remove(self, client: str) -> None:
        async with metadata.FileLock(self._lock):
            entries = self.current()
            if entries.pop(client, None) is None:
                raise NotFound(f"{client} is not blocklisted")
            self._write(entries)

    def _write(self, entries: dict[str, float]) -> None:
        """Atomically, as meta.save does: a crash leaves the old list or the new one."""
        tmp = self._path.with_name(f".{self._path.name}.tmp")
        with map_errors("write the blocklist"):
            with open(tmp, "w") as f:
                json.dump(entries, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
            metadata.fsync_dir(self._path.parent)
