"""A real cowcloud server for API tests: uvicorn on a free loopback port, in a thread.

    with run_server(tmp_path) as srv:          # or run_server(tmp_path, settings=my_settings)
        srv.url, srv.auth_url, srv.admin_password
        srv.write_clouds_yaml(tmp_path / "clouds.yaml")
        openstack(tmp_path / "clouds.yaml", "token", "issue")

The server bootstraps like `cowcloud serve` (admin user and project, Default domain, roles) with
the admin password given; it stops cleanly when the block ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from fastapi import APIRouter, FastAPI

from cowcloud.api.app import create_app
from cowcloud.api.request_head import protocol_for
from cowcloud.config import ServerSettings, Settings
from cowcloud.services.identity import ENV_ADMIN_PASSWORD

ADMIN_PASSWORD = "admin-secret-for-tests"
VENV_BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"


@dataclass(frozen=True)
class RunningServer:
    url: str
    admin_password: str
    settings: Settings
    app: FastAPI

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity"

    def cloud(self, username: str = "admin", password: str | None = None,
              project: str | None = "admin") -> dict[str, Any]:
        """A clouds.yaml entry (also usable as openstack.connect(**entry))."""
        auth = {"auth_url": self.auth_url, "username": username,
                "password": password or self.admin_password, "user_domain_name": "Default"}
        if project:
            auth.update(project_name=project, project_domain_name="Default")
        return {"auth": auth, "region_name": self.settings.server.region,
                "identity_api_version": 3, "interface": "public"}

    def write_clouds_yaml(self, path: Path, **clouds: dict[str, Any]) -> Path:
        """clouds.yaml with `cowcloud` (the admin) and any other entries given by name."""
        path.write_text(yaml.safe_dump({"clouds": {"cowcloud": self.cloud(), **clouds}}))
        return path


def settings_for(data_dir: Path, **server: Any) -> Settings:
    """Identity-only settings (no clusters) with the data folder, SQLite inside it."""
    return Settings(server=ServerSettings(data_dir=data_dir, **server))


@contextmanager
def run_server(data_dir: Path, settings: Settings | None = None,
               admin_password: str = ADMIN_PASSWORD, routers: Sequence[APIRouter] = (),
               timeout: float = 30, wait_clusters: bool = True) -> Iterator[RunningServer]:
    """`settings` default to settings_for(data_dir); `routers` are extra routes (test probes).
    wait_clusters: return once every cluster is open and recovered (they open in the
    background), not only once the server serves."""
    settings = settings or settings_for(data_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"server": settings.server.model_copy(
        update={"host": "127.0.0.1", "port": port})})
    app = create_app(settings)
    for router in routers:
        app.include_router(router)
    # the protocol `cowcloud serve` runs (caps on the request head), so every test goes through it
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on", http=protocol_for(settings.server)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"cowcloud-{port}")
    saved = os.environ.get(ENV_ADMIN_PASSWORD)
    os.environ[ENV_ADMIN_PASSWORD] = admin_password  # read once, by the bootstrap at start-up
    try:
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("cowcloud did not start (see the log above)")
            time.sleep(0.02)
        if wait_clusters:
            wait_for_clusters(settings.server.url, deadline)
    finally:
        if saved is None:
            os.environ.pop(ENV_ADMIN_PASSWORD, None)
        else:
            os.environ[ENV_ADMIN_PASSWORD] = saved
    try:
        yield RunningServer(settings.server.url, admin_password, settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def wait_for_clusters(url: str, deadline: float) -> None:
    """Until /healthz lists no cluster as unavailable (all open and recovered)."""
    import httpx
    while True:
        try:
            health = httpx.get(f"{url}/healthz", timeout=5).json()
            if not health.get("unavailable"):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"clusters did not open: {health}")
        time.sleep(0.05)


def os_cli(tool: str, server_url: str, user: str, password: str, project: str, *args: str,
           check: bool = True, extra_env: dict[str, str] | None = None,
           **run: Any) -> subprocess.CompletedProcess[str]:
    """A project's own CLI (`cinder`, `nova`, `glance`) with the OS_* variables a user exports,
    nothing of the caller's OS_* environment leaking in."""
    exe = shutil.which(tool, path=str(VENV_BIN)) or tool
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=f"{server_url}/identity/v3", OS_USERNAME=user, OS_PASSWORD=password,
               OS_PROJECT_NAME=project, OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default", OS_IDENTITY_API_VERSION="3",
               **(extra_env or {}))
    res = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=180,
                         **run)
    if check and res.returncode != 0:
        raise AssertionError(f"{tool} {' '.join(args)} failed ({res.returncode}):\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


def openstack(clouds_yaml: Path, *args: str, cloud: str = "cowcloud",
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real `openstack` CLI against a clouds.yaml, as a user would run it."""
    exe = shutil.which("openstack", path=str(VENV_BIN)) or "openstack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds_yaml)
    result = subprocess.run([exe, "--os-cloud", cloud, *args], env=env, capture_output=True,
                            text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def openstack_json(clouds_yaml: Path, *args: str, cloud: str = "cowcloud") -> Any:
    return json.loads(openstack(clouds_yaml, *args, "-f", "json", cloud=cloud).stdout)


def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """The calls at once, each on its own thread, released together; their results in order."""
    out: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        out[i] = calls[i]()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


# ------------------------------------------------------------------ shared by the API test packages

def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pattern(size: int, seed: int = 1) -> bytes:
    """Non-zero, seed-dependent bytes (no holes)."""
    block = hashlib.sha512(str(seed).encode()).digest() * 64  # 4 KiB
    return (block * (size // len(block) + 1))[:size]


def token_for(url: str, user: str, password: str, project: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    resp = httpx.post(f"{url}/identity/v3/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


@dataclass(frozen=True)
class Account:
    """A user made for a test, alone in a project of its own, with a token scoped to it."""
    name: str
    password: str
    project: str
    project_id: str
    token: str


def new_account(srv: RunningServer, role: str = "member") -> Account:
    identity = srv.app.state.runtime.identity
    project = identity.create_project(unique("proj"))
    name, password = unique("user"), f"pw-{uuid.uuid4().hex}"
    user = identity.create_user(name, password=password, default_project_id=project.id)
    identity.add_grant(user.id, "project", project.id, identity.list_roles(name=role)[0].id)
    return Account(name, password, project.name, project.id,
                   token_for(srv.url, name, password, project.name))
