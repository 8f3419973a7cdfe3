"""The real clients drive backups: `openstack volume backup create/list/show/restore/delete`,
`cinder backup-create --incremental` and `cinder backup-restore`, and openstacksdk's
block_storage proxy; each restore holds the bytes of its backup."""

from __future__ import annotations

import time
from pathlib import Path

import openstack
from server import RunningServer, openstack_json
from server import openstack as osc

from cowcloud.config import Settings

from .backup_helpers import MiB, backup_gone, read_volume, wait_backup, write_volume
from .conftest import User
from .helpers import cinder, pattern, pool_devices, unique


def _wait_cli(clouds: Path, kind: str, ident: str, status: str = "available") -> dict:
    deadline = time.monotonic() + 120
    while True:
        found = openstack_json(clouds, "volume", *kind.split(), "show", ident, cloud="alice")
        if found["status"] == status:
            return found
        assert found["status"] != "error", found
        assert time.monotonic() < deadline, found
        time.sleep(0.3)


def _empty(settings: Settings) -> None:
    assert pool_devices(settings, "backup_targets") == {"backups": [], "dcn0": []}
    assert pool_devices(settings)["central"] == []


def test_openstack_cli_backups(clouds_yaml: Path, alice: User, settings: Settings) -> None:
    api = alice.api
    name = unique("src")
    vid = openstack_json(clouds_yaml, "volume", "create", "--size", "1", name,
                         cloud="alice")["id"]
    _wait_cli(clouds_yaml, "", vid)
    data = pattern(4 * MiB, seed=61)
    write_volume(settings, "central", vid, 0, data)
    bname = unique("bak")
    made = openstack_json(clouds_yaml, "volume", "backup", "create", "--name", bname, name,
                          cloud="alice")
    done = _wait_cli(clouds_yaml, "backup", made["id"])
    assert done["name"] == bname and done["volume_id"] == vid and done["size"] == 1
    assert done["container"] == "backups" and done["is_incremental"] is False
    write_volume(settings, "central", vid, MiB, pattern(MiB, seed=62))
    changed = read_volume(settings, "central", vid, 0, 4 * MiB)
    inc = openstack_json(clouds_yaml, "volume", "backup", "create", "--incremental",
                         "--container", "backups", name, cloud="alice")
    assert _wait_cli(clouds_yaml, "backup", inc["id"])["is_incremental"] is True
    listed = openstack_json(clouds_yaml, "volume", "backup", "list", "--long", cloud="alice")
    assert {made["id"], inc["id"]} <= {b["ID"] for b in listed}

    # into a new volume (named), then into the source volume itself (--force)
    new_name = unique("restored")
    osc(clouds_yaml, "volume", "backup", "restore", made["id"], new_name, cloud="alice")
    new = _wait_cli(clouds_yaml, "", new_name)
    wait_backup(api, made["id"])
    assert read_volume(settings, "central", new["id"], 0, 4 * MiB) == data
    osc(clouds_yaml, "volume", "backup", "restore", "--force", inc["id"], vid, cloud="alice")
    _wait_cli(clouds_yaml, "", vid)
    wait_backup(api, inc["id"])
    assert read_volume(settings, "central", vid, 0, 4 * MiB) == changed

    refused = osc(clouds_yaml, "volume", "backup", "delete", made["id"], cloud="alice",
                  check=False)
    assert refused.returncode != 0 and "Incremental backups exist" in refused.stderr
    osc(clouds_yaml, "volume", "backup", "delete", inc["id"], cloud="alice")
    backup_gone(api, inc["id"])
    osc(clouds_yaml, "volume", "backup", "delete", made["id"], cloud="alice")
    backup_gone(api, made["id"])
    osc(clouds_yaml, "volume", "delete", vid, new["id"], cloud="alice")
    for v in (vid, new["id"]):
        api.gone(v)
    _empty(settings)


def test_cinder_cli_incremental(srv: RunningServer, alice: User, settings: Settings) -> None:
    api = alice.api
    run = lambda *a, **kw: cinder(srv.url, alice.name, alice.password,  # noqa: E731
                                  alice.project, *a, **kw)
    vid = api.wait(api.create(size=1)["id"])["id"]
    write_volume(settings, "central", vid, 0, pattern(4 * MiB, seed=71))

    def field(out: str, key: str) -> str:
        return next(line.split("|")[2].strip() for line in out.splitlines()
                    if line.startswith(f"| {key} "))
    full = field(run("backup-create", "--name", unique("full"), vid).stdout, "id")
    wait_backup(api, full)
    write_volume(settings, "central", vid, 2 * MiB, pattern(MiB, seed=72))
    state = read_volume(settings, "central", vid, 0, 4 * MiB)
    inc = field(run("backup-create", "--incremental", "--name", unique("inc"), vid).stdout,
                "id")
    assert wait_backup(api, inc)["is_incremental"]
    shown = run("--os-volume-api-version", "3.64", "backup-show", inc).stdout
    assert field(shown, "is_incremental") == "True"
    assert field(run("backup-show", full).stdout, "has_dependent_backups") == "True"
    out = run("backup-restore", inc).stdout
    new = field(out, "volume_id")
    api.wait(new)
    wait_backup(api, inc)
    assert read_volume(settings, "central", new, 0, 4 * MiB) == state
    refused = run("backup-delete", full, check=False)
    assert "Incremental backups exist" in refused.stdout + refused.stderr
    run("backup-delete", inc)
    backup_gone(api, inc)
    run("backup-delete", full)
    backup_gone(api, full)
    run("delete", vid, new)
    for v in (vid, new):
        api.gone(v)
    _empty(settings)


def test_openstacksdk_backups(srv: RunningServer, alice: User, settings: Settings) -> None:
    conn = openstack.connect(**srv.cloud(alice.name, alice.password, alice.project))
    try:
        bs = conn.block_storage
        vol = bs.wait_for_status(bs.create_volume(size=1, name=unique("sdk")), "available",
                                 wait=120)
        data = pattern(2 * MiB, seed=81)
        write_volume(settings, "central", vol.id, 0, data)
        b = bs.wait_for_status(bs.create_backup(volume_id=vol.id, name=unique("b"),
                                                container="dcn0"), "available", wait=120)
        assert (b.container, b.availability_zone, b.is_incremental) == ("dcn0", "dcn0", False)
        inc = bs.wait_for_status(bs.create_backup(volume_id=vol.id, is_incremental=True),
                                 "available", wait=120)
        # no container: the incremental follows its parent into dcn0
        assert inc.is_incremental and inc.container == "dcn0"
        assert bs.get_backup(b.id).has_dependent_backups
        assert {b.id, inc.id} <= {x.id for x in bs.backups(details=True)}
        bs.restore_backup(inc, volume_id=None, name=unique("r"))
        bs.wait_for_status(bs.get_backup(inc.id), "available", wait=120)
        restored = [v for v in bs.volumes() if v.name and v.name.startswith("r-")]
        assert len(restored) == 1
        new = bs.wait_for_status(restored[0], "available", wait=120)
        assert read_volume(settings, "central", new.id, 0, len(data)) == data
        for x in (inc, b):
            bs.delete_backup(x)
            bs.wait_for_delete(x, wait=60)
        for v in (vol, new):
            bs.delete_volume(v)
            bs.wait_for_delete(v, wait=60)
    finally:
        conn.close()
    _empty(settings)
