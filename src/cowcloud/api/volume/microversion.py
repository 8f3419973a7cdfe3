"""`OpenStack-API-Version: volume 3.x` negotiation for every /volume/v3 request.

No header means 3.0; `latest` means the maximum; a version outside [MIN, MAX] is a 406 and a
malformed one a 400, both in Cinder's error shape. Every answer names the version it was
made for, with `Vary`, as Cinder's do. The routes read it from request.state.volume_version.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import Error
from ...services.volumes.views import MAX_VERSION, MIN_VERSION, Version
from ..errors import error_body

HEADER = b"openstack-api-version"
PREFIX = "/volume/v3/"
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class VersionError(Error):
    """A microversion header that is malformed (400) or out of range (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def negotiate(header: str | None) -> Version:
    if not header:
        return MIN_VERSION
    wanted = None
    for part in header.split(","):
        service, _, value = part.strip().partition(" ")
        if service.lower() == "volume":
            wanted = value.strip()
    if wanted is None:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    m = _VERSION.match(wanted)
    if not m:
        raise VersionError(400, f"API Version String {wanted} is of invalid format. Must be "
                                "of format MajorNum.MinorNum.")
    version = (int(m.group(1)), int(m.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionError(406, f"Version {wanted} is not supported by the API. Minimum is "
                                f"{fmt(MIN_VERSION)} and maximum is {fmt(MAX_VERSION)}.")
    return version


class VolumeMicroversion:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        raw = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == HEADER),
                   None)
        try:
            version = negotiate(raw)
        except VersionError as exc:
            body = json.dumps(error_body(scope["path"], exc.status, exc.message)).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["volume_version"] = version
        extra = [(b"openstack-api-version", f"volume {fmt(version)}".encode()),
                 (b"vary", b"OpenStack-API-Version")]

        async def tagged(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, tagged)
