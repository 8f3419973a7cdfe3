"""How an agent talks to the control plane: authenticated HTTP under /compute-agent/v1
(HttpChannel), which works across machines. `cowcloud serve`'s own agent uses the same calls
in-process (local.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx

from ..errors import Conflict, Error

log = logging.getLogger("cowcloud.agent")


class AgentRefused(Conflict):
    """The control plane refused this agent its host (another agent holds it up), or took it
    away (another agent registered it while this one was away)."""


class ChannelError(Error):
    """The control plane answered with an error the agent cannot act on."""


class Channel(Protocol):
    async def register(self, spec: dict[str, Any]) -> dict[str, Any]: ...

    async def heartbeat(self, host: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def work(self, host: str, session: str, wait: float) -> list[dict[str, Any]]: ...

    async def report(self, host: str, session: str, work_id: int,
                     result: dict[str, Any]) -> None: ...

    def image_chunks(self, image_id: str) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class HttpChannel:
    """httpx to the control plane with a Keystone token of the agent's service user, renewed
    when it is refused (expired) or close to its end."""

    def __init__(self, url: str, username: str, password: str, project: str,
                 domain: str = "Default") -> None:
        self.url = url.rstrip("/")
        self._creds = (username, password, project, domain)
        self._client = httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(30, read=180))
        self._token: str | None = None

    async def _login(self) -> str:
        user, password, project, domain = self._creds
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": domain}}}}}
        resp = await self._client.post("/identity/v3/auth/tokens", json=body)
        if resp.status_code != 201:
            raise ChannelError(f"the control plane refused the agent's login as {user}: "
                               f"{resp.status_code} {resp.text[:200]}")
        self._token = resp.headers["X-Subject-Token"]
        return self._token

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        token = self._token or await self._login()
        resp = await self._client.request(method, path, headers={"X-Auth-Token": token}, **kw)
        if resp.status_code == 401:
            token = await self._login()
            resp = await self._client.request(method, path, headers={"X-Auth-Token": token},
                                              **kw)
        if resp.status_code == 409:
            raise AgentRefused(_message(resp))
        if resp.status_code >= 400:
            raise ChannelError(f"{method} {path}: {resp.status_code} {_message(resp)}")
        return resp

    async def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        resp = await self._call("POST", "/compute-agent/v1/hosts", json={"host": spec})
        return resp.json()  # type: ignore[no-any-return]

    async def heartbeat(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self._call("POST", f"/compute-agent/v1/hosts/{host}/heartbeat", json=body)
        return resp.json()  # type: ignore[no-any-return]

    async def work(self, host: str, session: str, wait: float) -> list[dict[str, Any]]:
        resp = await self._call("GET", f"/compute-agent/v1/hosts/{host}/work",
                                params={"session": session, "wait": str(wait)},
                                timeout=httpx.Timeout(30, read=wait + 60))
        return resp.json()["work"]  # type: ignore[no-any-return]

    async def report(self, host: str, session: str, work_id: int,
                     result: dict[str, Any]) -> None:
        await self._call("POST", f"/compute-agent/v1/hosts/{host}/work/{work_id}",
                         json={"session": session, "result": result})

    async def image_chunks(self, image_id: str) -> AsyncIterator[bytes]:
        """The image's bytes from the Image API (for a backend in a cluster the image has no
        copy in, as Nova downloads it)."""
        token = self._token or await self._login()
        async with self._client.stream("GET", f"/image/v2/images/{image_id}/file",
                                       headers={"X-Auth-Token": token}) as resp:
            if resp.status_code != 200:
                raise ChannelError(f"image {image_id}: download refused "
                                   f"({resp.status_code})")
            async for chunk in resp.aiter_bytes(4 << 20):
                yield chunk

    async def close(self) -> None:
        await self._client.aclose()


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        (inner,) = body.values()
        return str(inner["message"])
    except Exception:  # not Nova's shape: the text as it came
        return resp.text[:500]
