"""`cowcloud fernet rotate` (keystone-manage fernet_rotate) against a running server: the staged
key starts signing, tokens of kept keys still validate, a purged key's tokens stop, and the server
notices without a restart."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import InvalidToken
from server import VENV_BIN, run_server

from cowcloud.services.tokens import FernetKeys

from .conftest import admin_body, issue, validate


def _rotate(config: Path, *args: str) -> str:
    res = subprocess.run([str(VENV_BIN / "cowcloud"), "fernet", "rotate", "--config", str(config),
                          *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr  # rich's console may write to either


def test_rotation_while_serving(tmp_path: Path) -> None:
    config = tmp_path / "cowcloud.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n')
    keys = tmp_path / "fernet-keys"
    with run_server(tmp_path) as srv, httpx.Client(base_url=srv.url) as http:
        first = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        assert sorted(p.name for p in keys.iterdir()) == ["0"]
        out = _rotate(config)
        assert sorted(p.name for p in keys.iterdir()) == ["0", "1"] and "primary 1" in out
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys.iterdir())
        assert validate(http, first, first).status_code == 200  # its key is now 1: kept
        second = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        _rotate(config)  # keys 2 (primary), 1, 0: three, nothing purged yet
        assert validate(http, first, second).status_code == 200
        _rotate(config)  # key 1, which signed both tokens, is the oldest beyond three: purged
        assert sorted(p.name for p in keys.iterdir()) == ["0", "2", "3"]
        assert validate(http, second, second).status_code == 401  # its caller token is dead
        third = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        assert validate(http, third, first).status_code == 404
        assert validate(http, third, third).status_code == 200


def test_rotation_keeps_at_least_the_staged_and_primary_keys(tmp_path: Path) -> None:
    keys = FernetKeys(tmp_path / "keys")
    keys.load()
    with pytest.raises(ValueError):
        keys.rotate(max_active=1)
    for _ in range(4):
        names = keys.rotate(max_active=2)
    assert names == ["4", "0"]  # primary first, then the staged key
    token = keys.fernet.encrypt(b"x")
    keys.rotate(max_active=2)  # 4 goes: the token it signed is no longer readable
    with pytest.raises(InvalidToken):
        keys.fernet.decrypt(token)


def test_a_garbage_key_stops_init_with_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "cowcloud.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n')
    keys = tmp_path / "fernet-keys"
    keys.mkdir(mode=0o700)
    (keys / "1").write_text("not a key")
    res = subprocess.run([str(VENV_BIN / "cowcloud"), "init", "--config", str(config)],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    said = " ".join(res.stderr.split())  # rich wraps long lines
    assert res.returncode == 1 and "Traceback" not in said
    assert "is not a Fernet key" in said and str(keys / "1") in res.stderr.replace("\n", "")
