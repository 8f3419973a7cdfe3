"""The id of the request being served (X-Openstack-Request-Id), for logs, errors and tasks."""

from __future__ import annotations

import contextvars
import uuid

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID_HEADER = "X-Openstack-Request-Id"


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"
