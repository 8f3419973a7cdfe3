"""Task rows as plain values, and who is working on them.

A worker id is `host:pid:nonce`. The nonce changes with every runtime, and the runtimes alive in
this process are listed in LIVE, so work left behind by an earlier runtime of this very process
is recognised as abandoned too, while two runtimes side by side never take each other's.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..db.models import Task

PENDING = "pending"
PROCESSING = "processing"
SUCCESS = "success"
FAILURE = "failure"


@dataclass(frozen=True)
class TaskRecord:
    id: str
    kind: str
    status: str
    owner: str | None
    resource_id: str | None
    input: dict[str, Any]
    state: dict[str, Any]
    result: dict[str, Any]
    message: str
    attempts: int
    worker: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Task) -> TaskRecord:
        return cls(id=row.id, kind=row.kind, status=row.status, owner=row.owner,
                   resource_id=row.resource_id, input=dict(row.input or {}),
                   state=dict(row.state or {}), result=dict(row.result or {}),
                   message=row.message or "", attempts=row.attempts, worker=row.worker,
                   lease_until=row.lease_until, created_at=row.created_at,
                   updated_at=row.updated_at)


LIVE: set[str] = set()  # worker ids of the runners running in this process


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def known_dead(worker: str | None, me: str) -> bool:
    """True when `worker` surely no longer runs: a process of this host that has exited, or a
    runtime of this process that has stopped. Other hosts' workers are judged by their lease."""
    if not worker or worker == me:
        return False
    try:
        host, pid_text, _nonce = worker.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    my_host, my_pid, _ = me.rsplit(":", 2)
    if host != my_host:
        return False
    if pid == int(my_pid):
        return worker not in LIVE
    return not _pid_alive(pid)
