"""Compute microversions for every /compute/v2.1 request: `X-OpenStack-Nova-API-Version: 2.x`
(python-novaclient's legacy header) or `OpenStack-API-Version: compute 2.x` (openstacksdk,
openstackclient); no header means 2.1, `latest` the maximum. A version outside [MIN, MAX] is
a 406 and a malformed one a 400, in Nova's error shape. Answers name the version in both
headers, with `Vary`, as Nova's do. Routes read it from request.state.compute_version."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import Error
from ...services.compute.views import MAX_VERSION, MIN_VERSION, Version, fmt
from ..errors import error_body

PREFIX = "/compute/v2.1"
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class VersionError(Error):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _wanted(headers: list[tuple[bytes, bytes]]) -> str | None:
    legacy = None
    for key, value in headers:
        name = key.lower()
        text = value.decode("latin-1")
        if name == b"openstack-api-version":
            for part in text.split(","):
                service, _, version = part.strip().partition(" ")
                if service.lower() == "compute":
                    return version.strip()
        elif name == b"x-openstack-nova-api-version":
            legacy = text.strip()
    return legacy


def negotiate(wanted: str | None) -> Version:
    if not wanted:
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


class ComputeMicroversion:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        try:
            version = negotiate(_wanted(scope["headers"]))
        except VersionError as exc:
            body = json.dumps(error_body(path, exc.status, exc.message)).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["compute_version"] = version
        text = fmt(version).encode()
        extra = [(b"openstack-api-version", b"compute " + text),
                 (b"x-openstack-nova-api-version", text),
                 (b"vary", b"OpenStack-API-Version, X-OpenStack-Nova-API-Version")]

        async def tagged(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, tagged)
