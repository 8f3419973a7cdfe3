"""Review findings on today's identity routes and `cowcloud fernet rotate`: NUL bytes in ids and
filters (500s on PostgreSQL), deletes of domains and roles racing writes that need them (500s on
PostgreSQL), and key folders that are missing or hold odd files (tracebacks, a server that
rejected valid tokens)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_server import fresh_database
from server import VENV_BIN, race, run_server, settings_for

from cowcloud.services.tokens import FernetKeys

from .conftest import admin_body, issue, validate

V3 = "/identity/v3"


def _keystone_error(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    error = resp.json()["error"]
    assert error["code"] == status and error["message"] and error["title"], error




def test_lone_surrogates_are_400(srv: Any, admin_token: str) -> None:
    """json.loads turns the escape \\ud800 into a string the database cannot encode: 500s on
    every identity body (names, passwords, a login)."""
    h = {"X-Auth-Token": admin_token, "Content-Type": "application/json"}
    name = f"rv-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        for path, body in (("/domains", '{"domain": {"name": "%s\\ud800"}}' % name),
                           ("/projects", '{"project": {"name": "%s\\udc00"}}' % name),
                           ("/users", '{"user": {"name": "%s", "password": "\\ud800"}}' % name),
                           ("/auth/tokens", '{"auth": {"identity": {"methods": ["password"], '
                            '"password": {"user": {"name": "admin", "domain": {"id": '
                            '"default"}, "password": "\\ud800"}}}}}')):
            _keystone_error(http.post(f"{V3}{path}", content=body.encode(), headers=h), 400)
        for kind in ("domains", "projects", "users"):
            assert http.get(f"{V3}/{kind}", params={"name": name},
                            headers=h).json()[kind] == []


# ------------------------------------------------------------------------ on PostgreSQL

@pytest.fixture(scope="module")
def pg(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """An admin client of a server on its own PostgreSQL database: PostgreSQL refuses NUL in
    text and runs writers side by side, which SQLite does not."""
    data = tmp_path_factory.mktemp("pg-identity")
    settings = settings_for(data, database=fresh_database(postgres_url, "review_identity"))
    with run_server(data, settings) as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        resp = issue(http, admin_body(srv, {"project": {"name": "admin",
                                                        "domain": {"id": "default"}}}))
        http.headers["X-Auth-Token"] = resp.headers["X-Subject-Token"]
        yield http


def _new(http: httpx.Client, kind: str, **fields: Any) -> str:
    fields.setdefault("name", f"rv-{uuid.uuid4().hex[:8]}")
    resp = http.post(f"{V3}/{kind}s", json={kind: fields})
    assert resp.status_code == 201, resp.text
    return str(resp.json()[kind]["id"])


@pytest.mark.parametrize("bad", ["a%00b", "x" * 300])
def test_odd_ids_are_404_on_postgresql(pg: httpx.Client, bad: str) -> None:
    """A NUL in an id reached the database: 500 on the new PATCH/DELETE of domains and roles,
    on access_rules, and on the older GETs sharing the lookup."""
    for kind in ("domains", "roles", "users", "projects"):
        _keystone_error(pg.get(f"{V3}/{kind}/{bad}"), 404)
        _keystone_error(pg.patch(f"{V3}/{kind}/{bad}",
                                 json={kind[:-1]: {"description": "x"}}), 404)
        _keystone_error(pg.delete(f"{V3}/{kind}/{bad}"), 404)
    _keystone_error(pg.get(f"{V3}/users/{bad}/access_rules"), 404)
    me = pg.get(f"{V3}/auth/tokens", headers={"X-Subject-Token": pg.headers["X-Auth-Token"]})
    admin_id = me.json()["token"]["user"]["id"]
    _keystone_error(pg.get(f"{V3}/users/{admin_id}/application_credentials/{bad}"), 404)
    _keystone_error(pg.delete(f"{V3}/users/{admin_id}/application_credentials/{bad}"), 404)
    listed = pg.get(f"{V3}/users/{bad}/application_credentials")
    assert listed.status_code == 200 and listed.json()["application_credentials"] == []
    for kind in ("domains", "roles", "users", "projects"):
        resp = pg.get(f"{V3}/{kind}", params={"name": bad.replace("%00", "\x00")})
        assert resp.status_code == 200 and resp.json()[kind] == [], resp.text
    for key in ("user.id", "scope.project.id", "scope.domain.id"):
        resp = pg.get(f"{V3}/role_assignments", params={key: bad.replace("%00", "\x00")})
        assert resp.status_code == 200 and resp.json()["role_assignments"] == [], resp.text


def test_domain_delete_racing_creates_in_it_on_postgresql(pg: httpx.Client) -> None:
    """A project or user made in a disabled domain while it was deleted: the delete hit the
    foreign key and answered 500. Now 409 with nothing gone, or the delete wins whole."""
    for _ in range(6):
        domain = _new(pg, "domain")
        assert pg.patch(f"{V3}/domains/{domain}",
                        json={"domain": {"enabled": False}}).status_code == 200
        resps = race([
            lambda d=domain: pg.delete(f"{V3}/domains/{d}"),
            lambda d=domain: pg.post(f"{V3}/projects", json={"project": {"name": "p",
                                                                         "domain_id": d}}),
            lambda d=domain: pg.post(f"{V3}/users", json={"user": {"name": "u",
                                                                   "domain_id": d}})])
        statuses = [r.status_code for r in resps]
        assert statuses[0] in (204, 409) and set(statuses[1:]) <= {201, 404, 409}, \
            [(r.status_code, r.text) for r in resps]
        for r in resps:
            if r.status_code >= 400:
                _keystone_error(r, r.status_code)
        if statuses[0] == 409:  # nothing went: the domain and what was made in it are there
            assert pg.get(f"{V3}/domains/{domain}").status_code == 200
            assert pg.delete(f"{V3}/domains/{domain}").status_code == 204
        assert pg.get(f"{V3}/domains/{domain}").status_code == 404
        for kind in ("projects", "users"):
            assert pg.get(f"{V3}/{kind}", params={"domain_id": domain}).json()[kind] == []


def test_grants_racing_role_delete_and_each_other_on_postgresql(pg: httpx.Client) -> None:
    """PUT of a grant while its role was deleted, or the same grant twice at once: the
    insert's foreign key or unique constraint failed, answered 500."""
    project = _new(pg, "project")
    user = _new(pg, "user")
    grant = f"{V3}/projects/{project}/users/{user}/roles"
    for _ in range(6):
        role = _new(pg, "role")
        resps = race([lambda r=role: pg.put(f"{grant}/{r}")] * 4)
        assert [r.status_code for r in resps] == [204] * 4, [r.text for r in resps]
        role = _new(pg, "role")
        resps = race([lambda r=role: pg.delete(f"{V3}/roles/{r}"),
                       lambda r=role: pg.put(f"{grant}/{r}"),
                       lambda r=role: pg.put(f"{grant}/{r}")])
        assert resps[0].status_code == 204, resps[0].text
        for r in resps[1:]:
            assert r.status_code in (204, 404), (r.status_code, r.text)
        roles = pg.get(grant).json()["roles"]
        assert role not in {r["id"] for r in roles}


# ------------------------------------------------------------------------ fernet rotate

def _rotate(data: Path) -> subprocess.CompletedProcess[str]:
    config = data.parent / f"{data.name}.toml"
    config.write_text(f'[server]\ndata_dir = "{data}"\n')
    return subprocess.run([str(VENV_BIN / "cowcloud"), "fernet", "rotate", "--config",
                           str(config)], capture_output=True, text=True, timeout=60)


def _cli_error(res: subprocess.CompletedProcess[str], *words: str) -> None:
    out = res.stdout + res.stderr
    assert res.returncode == 1 and "Traceback" not in out, out
    flat = "".join(out.split())  # rich wraps long lines, paths too
    assert "error:" in flat and all("".join(w.split()) in flat for w in words), out


def _keys(data: Path) -> Path:
    keys = data / "fernet-keys"
    FernetKeys(keys).load()  # as the server's first start makes them: key 0
    return keys


@pytest.mark.parametrize("missing", ["fernet-keys", "whole data_dir"])
def test_rotate_refuses_a_missing_key_folder(tmp_path: Path, missing: str) -> None:
    """It made a new key folder (and the data folder) wherever --config pointed, and
    rotated keys that no server reads, reporting success."""
    data = tmp_path / "data"
    if missing == "fernet-keys":
        data.mkdir()
    _cli_error(_rotate(data), str(data / "fernet-keys"), "not a key folder")
    assert not (data / "fernet-keys").exists()
    assert data.exists() == (missing == "fernet-keys")


def test_rotate_refuses_a_key_folder_that_is_a_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "fernet-keys").write_text("")
    _cli_error(_rotate(data), "not a key folder")


def test_rotate_names_a_file_that_is_not_a_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = _keys(data)
    (keys / "7").write_text("not a key\n")
    _cli_error(_rotate(data), str(keys / "7"), "not a Fernet key")
    assert sorted(p.name for p in keys.iterdir()) == ["0", "7"]  # nothing rotated


def test_rotate_skips_files_that_are_not_keys(tmp_path: Path) -> None:
    """'²' passes str.isdigit() and made int() raise; a folder named 5 was read as a key."""
    data = tmp_path / "data"
    keys = _keys(data)
    (keys / "README").write_text("keys")
    (keys / "²").write_text("x")
    (keys / "5").mkdir()
    res = _rotate(data)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(p.name for p in keys.iterdir()) == ["0", "1", "5", "README", "²"]


def test_rotate_does_not_promote_an_empty_staged_key(tmp_path: Path) -> None:
    """An empty key file (a full disk, a copy cut short) was a traceback; Keystone skips it.
    The empty staged key is not promoted: a new key becomes the primary."""
    data = tmp_path / "data"
    keys = _keys(data)
    assert _rotate(data).returncode == 0  # 1 (primary), 0 (staged)
    (keys / "0").write_bytes(b"")
    res = _rotate(data)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stdout + res.stderr
    assert sorted(p.name for p in keys.iterdir()) == ["0", "1", "2"]
    assert all(p.stat().st_size > 0 for p in keys.iterdir())
    (keys / "0").write_bytes(b"")
    (keys / "1").write_bytes(b"")
    (keys / "2").write_bytes(b"")
    _cli_error(_rotate(data), "no usable key")


def test_running_server_keeps_validating_beside_an_empty_key_file(tmp_path: Path) -> None:
    """The server reloads the folder when it changes: an empty file in it made the reload
    fail, a valid token was refused (401), and the failed reload was never retried."""
    with run_server(tmp_path) as srv, httpx.Client(base_url=srv.url) as http:
        token = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        (tmp_path / "fernet-keys" / "9").write_bytes(b"")
        assert validate(http, token, token).status_code == 200
        assert issue(http, admin_body(srv)).status_code == 201
        res = _rotate(tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert validate(http, token, token).status_code == 200
        newer = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        assert validate(http, newer, token).status_code == 200
