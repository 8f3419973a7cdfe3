"""How long a Ceph call may wait: librados' own timeouts, set on every cluster connection.

librados waits forever by default: an OSD that stops mid-write leaves aio completions that never
come back, and a mon that does not answer blocks connect and every mon command. With these set,
each wait ends in ETIMEDOUT (Unavailable) instead. `stall` bounds the waits librados has no
timeout for: a stream's write window waiting for a slot (io.py) and a copy that stops making
progress (storage/watchdog.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    osd_op: float = 30  # rados_osd_op_timeout: one OSD request
    mon_op: float = 30  # rados_mon_op_timeout: one mon request (pool lookups, mon commands)
    mount: float = 30  # client_mount_timeout: connect (the mon handshake)
    stall: float = 120  # a stream or copy with no progress for this long is failed

    def rados_conf(self) -> dict[str, str]:
        # librados reads these as seconds; whole seconds, at least 1 (0 means "forever").
        return {"rados_osd_op_timeout": _secs(self.osd_op),
                "rados_mon_op_timeout": _secs(self.mon_op),
                "client_mount_timeout": _secs(self.mount)}


def _secs(value: float) -> str:
    return str(max(1, round(value)))
