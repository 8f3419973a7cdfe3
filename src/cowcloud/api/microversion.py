"""Microversion negotiation for the services that have them (Cinder's volume 3.x, Nova's compute
2.x), as one ASGI middleware per service.

`OpenStack-API-Version: SERVICE X.Y` (several services may share the header, comma separated)
or the service's legacy header (Nova's `X-OpenStack-Nova-API-Version`); no header means the
minimum, `latest` the maximum. A malformed version is a 400 and one outside [MIN, MAX] a 406,
in the error shape of the path's service. Every answer names the version it was made for in
each header the service speaks, with `Vary`, as Cinder's and Nova's do. Routes read it from
request.state.<state_key>.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import Error
from .errors import error_body

Version = tuple[int, int]
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class VersionError(Error):
    """A microversion header that is malformed (400) or out of range (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Service:
    name: str               # as OpenStack-API-Version names it: "volume", "compute"
    root: str               # the versioned API's path, e.g. "/volume/v3"
    minimum: Version
    maximum: Version
    state_key: str          # request.state.<state_key> holds the negotiated version
    legacy_header: str | None = None  # e.g. "X-OpenStack-Nova-API-Version"

    def covers(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + "/")

    def wanted(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """The version the request asks for: the service's part of OpenStack-API-Version
        first, else its legacy header."""
        legacy = None
        legacy_name = self.legacy_header.lower().encode() if self.legacy_header else None
        for key, value in headers:
            name = key.lower()
            if name == b"openstack-api-version":
                for part in value.decode("latin-1").split(","):
                    service, _, version = part.strip().partition(" ")
                    if service.lower() == self.name:
                        return version.strip()
            elif name == legacy_name:
                legacy = value.decode("latin-1").strip()
        return legacy

    def negotiate(self, wanted: str | None) -> Version:
        if not wanted:
            return self.minimum
        if wanted.lower() == "latest":
            return self.maximum
        m = _VERSION.match(wanted)
        if not m:
            raise VersionError(400, f"API Version String {wanted} is of invalid format. Must "
                                    "be of format MajorNum.MinorNum.")
        version = (int(m.group(1)), int(m.group(2)))
        if not self.minimum <= version <= self.maximum:
            raise VersionError(406, f"Version {wanted} is not supported by the API. Minimum is "
                                    f"{fmt(self.minimum)} and maximum is {fmt(self.maximum)}.")
        return version

    def answer_headers(self, version: Version) -> list[tuple[bytes, bytes]]:
        text = fmt(version).encode()
        out = [(b"openstack-api-version", self.name.encode() + b" " + text)]
        vary = "OpenStack-API-Version"
        if self.legacy_header is not None:
            out.append((self.legacy_header.lower().encode(), text))
            vary += ", " + self.legacy_header
        return [*out, (b"vary", vary.encode())]


class Microversion:
    """ASGI middleware: negotiates `service`'s microversion for the requests under its root."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self.service.covers(path):
            await self.app(scope, receive, send)
            return
        try:
            version = self.service.negotiate(self.service.wanted(scope["headers"]))
        except VersionError as exc:
            body = json.dumps(error_body(path, exc.status, exc.message)).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[self.service.state_key] = version
        extra = self.service.answer_headers(version)

        async def tagged(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, tagged)
