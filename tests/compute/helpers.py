"""Clients for the compute tests: httpx on /compute/v2.1 and the agents' channel, the nova
CLI, and a fake agent's registration."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from server import os_cli
from server import unique as unique

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
GiB = 1 << 30


@dataclass
class ComputeApi:
    url: str
    token: str

    def request(self, method: str, path: str, *, version: str | None = None,
                **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        if version:
            headers["OpenStack-API-Version"] = f"compute {version}"
        with httpx.Client(base_url=self.url, timeout=60) as c:
            return c.request(method, f"/compute/v2.1{path}", headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def agent(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=60) as c:
            return c.request(method, f"/compute-agent/v1{path}",
                             headers={"X-Auth-Token": self.token}, **kw)

    def register(self, host: str, *, vcpus: int = 8, memory_mb: int = 16384,
                 backends: list[dict[str, Any]] | None = None, site: str = "nova",
                 session: str | None = None) -> httpx.Response:
        spec: dict[str, Any] = {"host": host, "site": site, "vcpus": vcpus,
                                "memory_mb": memory_mb, "hypervisor_type": "fake",
                                "backends": backends or []}
        if session:
            spec["session"] = session
        return self.agent("POST", "/hosts", json={"host": spec})

    def flavor(self, **spec: Any) -> dict[str, Any]:
        body = {"name": unique("flv"), "ram": 512, "vcpus": 1, "disk": 1, **spec}
        resp = self.post("/flavors", json={"flavor": body})
        assert resp.status_code == 200, resp.text
        return resp.json()["flavor"]


def fault(resp: httpx.Response, status: int, name: str | None = None) -> str:
    """The message of a Nova-shaped error with that status (asserting the shape)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert len(body) == 1, body
    (key, inner), = body.items()
    if name:
        assert key == name, body
    assert inner["code"] == status and isinstance(inner["message"], str), body
    return str(inner["message"])


def backend(name: str, pool: str, cluster_id: str = "fsid-a", kind: str = "rbd",
            total_gb: int = 100, free_gb: int = 90) -> dict[str, Any]:
    return {"name": name, "kind": kind, "cluster_id": cluster_id, "pool": pool,
            "total_bytes": total_gb * GiB, "free_bytes": free_gb * GiB}


def nova(server_url: str, user: str, password: str, project: str, *args: str,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    """python-novaclient's `nova`, as the seeds run it."""
    return os_cli("nova", server_url, user, password, project, *args, check=check)
