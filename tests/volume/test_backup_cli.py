"""`cowcloud volume backup create | restore` against the running server, as a user runs them:
the command waits for the backup's task with a progress bar and prints the new id."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from server import RunningServer

from cowcloud.config import Settings

from .backup_helpers import MiB, backup_gone, read_volume, show, write_volume
from .conftest import User
from .helpers import VENV_BIN, pattern, pool_devices, unique


def cowcloud(clouds: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD="alice", COLUMNS="120")
    res = subprocess.run([str(VENV_BIN / "cowcloud"), "volume", "backup", *args], env=env,
                         capture_output=True, text=True, timeout=300)
    if check and res.returncode != 0:
        raise AssertionError(f"cowcloud volume backup {' '.join(args)}: {res.returncode}\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


def test_backup_and_restore_with_progress(srv: RunningServer, alice: User, settings: Settings,
                                          clouds_yaml: Path) -> None:
    api = alice.api
    name = unique("clivol")
    vid = api.wait(api.create(size=1, name=name)["id"])["id"]
    data = pattern(64 * MiB, seed=91)
    write_volume(settings, "central", vid, 0, data)
    res = cowcloud(clouds_yaml, "create", name, "--name", "nightly", "--container", "dcn0")
    full = res.stdout.strip()
    assert "backup of " + name in res.stderr and "available in dcn0" in res.stderr
    assert show(api, full)["status"] == "available"
    write_volume(settings, "central", vid, MiB, pattern(MiB, seed=92))
    res = cowcloud(clouds_yaml, "create", vid, "--incremental")
    inc = res.stdout.strip()
    assert "incremental backup of" in res.stderr and show(api, inc)["is_incremental"]

    res = cowcloud(clouds_yaml, "restore", "nightly", "--name", "from-cli")
    new = res.stdout.strip()
    assert "restore into from-cli" in res.stderr
    assert api.volume(new)["name"] == "from-cli"
    assert read_volume(settings, "central", new, 0, 64 * MiB) == data
    res = cowcloud(clouds_yaml, "restore", inc, "--volume", new)
    assert res.stdout.strip() == new
    assert read_volume(settings, "central", new, MiB, MiB) == pattern(MiB, seed=92)

    refused = cowcloud(clouds_yaml, "create", "no-such-volume", check=False)
    assert refused.returncode == 1 and "0 volumes" in refused.stderr
    for b in (inc, full):
        assert api.delete(f"/backups/{b}").status_code == 202
        backup_gone(api, b)
    for v in (vid, new):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    assert pool_devices(settings, "backup_targets") == {"backups": [], "dcn0": []}
