"""First start: `cowcloud init` and `cowcloud serve` make the admin account and a clouds.yaml
entry that the openstack CLI uses at once; `cowcloud project/user create` work offline."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from server import VENV_BIN, openstack_json, run_server

from cowcloud.config import load

from .conftest import admin_body, connect


def cowcloud(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(VENV_BIN / "cowcloud"), *args], env=_env(home),
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "COWCLOUD_"))}
    env.update(HOME=str(home), COWCLOUD_CONFIG=str(home / "cowcloud.toml"))
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's home with a cowcloud.toml (one port, a data folder, no clusters) and an
    existing clouds.yaml entry that must survive."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "cowcloud.toml").write_text(
        f'[server]\nport = {port}\ndata_dir = "{tmp_path / "data"}"\nregion = "Lab"\n')
    clouds = tmp_path / ".config" / "openstack" / "clouds.yaml"
    clouds.parent.mkdir(parents=True)
    clouds.write_text(yaml.safe_dump({"clouds": {"other": {"auth": {"auth_url": "http://x"}}}}))
    return tmp_path


def clouds_of(home: Path) -> dict[str, dict[str, object]]:
    return yaml.safe_load((home / ".config" / "openstack" / "clouds.yaml").read_text())["clouds"]


def test_init_writes_admin_login_and_keeps_other_clouds(home: Path) -> None:
    cowcloud(home, "init")
    password_file = home / "data" / "admin-password"
    password = password_file.read_text().strip()
    clouds = clouds_of(home)
    assert set(clouds) == {"other", "cowcloud"}
    entry = clouds["cowcloud"]
    assert entry["region_name"] == "Lab" and entry["identity_api_version"] == 3
    port = load(home / "cowcloud.toml").server.port
    assert entry["auth"] == {
        "auth_url": f"http://127.0.0.1:{port}/identity", "username": "admin",
        "password": password, "project_name": "admin", "user_domain_name": "Default",
        "project_domain_name": "Default"}
    for path in (password_file, home / ".config" / "openstack" / "clouds.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    cowcloud(home, "init")  # again: nothing changes
    assert password_file.read_text().strip() == password
    assert clouds_of(home)["cowcloud"] == entry

    cowcloud(home, "project", "create", "demo")
    out = cowcloud(home, "user", "create", "alice", "--project", "demo", "--password", "pw")
    assert out.stdout.strip()  # the new user's id
    again = cowcloud(home, "user", "create", "alice", "--project", "demo", check=False)
    assert again.returncode == 1 and "Conflict" in again.stderr
    nowhere = cowcloud(home, "user", "create", "bob", "--project", "nowhere", check=False)
    assert nowhere.returncode == 1 and "Could not find project" in nowhere.stderr


def test_serve_is_usable_at_once_with_the_openstack_cli(home: Path) -> None:
    cowcloud(home, "project", "create", "demo")
    cowcloud(home, "user", "create", "alice", "--project", "demo", "--password", "pw")
    log = (home / "serve.log").open("w")
    server = subprocess.Popen([str(VENV_BIN / "cowcloud"), "serve", "--log-level", "WARNING"],
                              env=_env(home), stdout=log, stderr=subprocess.STDOUT)
    try:
        clouds = home / ".config" / "openstack" / "clouds.yaml"
        url = _wait_for_clouds_entry(clouds, server)
        _wait_until_up(url, server)
        token = openstack_json(clouds, "token", "issue")
        assert token["project_id"] and token["user_id"]
        alice = connect({**clouds_of(home)["cowcloud"], "auth": {
            **clouds_of(home)["cowcloud"]["auth"], "username": "alice", "password": "pw",
            "project_name": "demo"}})
        assert alice.identity.get_project(alice.current_project_id).name == "demo"
        refused = httpx.get(f"{url}/identity/v3/users",
                            headers={"X-Auth-Token": alice.session.get_token()})
        assert refused.status_code == 403
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert "admin login: user admin" in (home / "serve.log").read_text()


def _wait_for_clouds_entry(clouds: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        entry = yaml.safe_load(clouds.read_text())["clouds"].get("cowcloud")
        if entry:
            return str(entry["auth"]["auth_url"]).removesuffix("/identity")
        time.sleep(0.1)
    raise AssertionError(f"no clouds.yaml entry (exit {server.poll()})")


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"cowcloud serve did not come up (exit {server.poll()})")


def test_clouds_yaml_names_the_default_domain_as_it_is_now(home: Path) -> None:
    """Keystone lets the default domain be renamed: the entry `cowcloud init` and `serve` write
    must name it as it is then, or the admin's login stops working."""
    cowcloud(home, "init")
    with run_server(home / "data") as srv, httpx.Client(base_url=srv.url) as http:
        token = http.post("/identity/v3/auth/tokens", json=admin_body(srv)).headers[
            "X-Subject-Token"]
        renamed = http.patch("/identity/v3/domains/default", headers={"X-Auth-Token": token},
                             json={"domain": {"name": "Main"}})
        assert renamed.status_code == 200 and renamed.json()["domain"]["name"] == "Main"
        clouds = srv.write_clouds_yaml(home / "test-clouds.yaml", main={**srv.cloud(), "auth": {
            **srv.cloud()["auth"], "user_domain_name": "Main", "project_domain_name": "Main"}})
        assert openstack_json(clouds, "token", "issue", cloud="main")["project_id"]
    cowcloud(home, "init")
    auth = clouds_of(home)["cowcloud"]["auth"]
    assert (auth["user_domain_name"], auth["project_domain_name"]) == ("Main", "Main")
