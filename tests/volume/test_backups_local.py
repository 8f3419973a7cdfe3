"""The embedded default (one local qcow2 cluster, backup target `local` in pool backups) takes
full and incremental backups and restores them exactly, as on Ceph, and leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server import RunningServer, run_server

from cowcloud.config import embedded_default
from cowcloud.storage import DeviceRef

from .backup_helpers import (
    MiB,
    backed_up,
    backup_gone,
    on_server,
    restore,
    show,
    snapshots_of,
)
from .helpers import VolumeApi, fault, pattern, pool_devices, token_for


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("local-backups")
    with run_server(data, embedded_default(data)) as running:
        yield running


def _write(srv: RunningServer, vid: str, offset: int, data: bytes) -> None:
    on_server(srv, "local", lambda b: b.write(DeviceRef("volumes", f"volume-{vid}"), offset,
                                              data))


def _read(srv: RunningServer, vid: str, offset: int, length: int) -> bytes:
    return bytes(on_server(srv, "local", lambda b: b.read(
        DeviceRef("volumes", f"volume-{vid}"), offset, length)))


def _state(srv: RunningServer, vid: str) -> bytes:
    return _read(srv, vid, 0, 8 * MiB) + _read(srv, vid, 600 * MiB, 4 * MiB)


def test_backups_on_the_embedded_default(local: RunningServer) -> None:
    project = local.app.state.runtime.identity.list_projects(name="admin")[0]
    api = VolumeApi(local.url, token_for(local.url, "admin", local.admin_password, "admin"),
                    project.id)
    settings = local.settings
    vid = api.wait(api.create(size=1)["id"])["id"]
    _write(local, vid, 0, pattern(8 * MiB, seed=51))
    _write(local, vid, 600 * MiB, pattern(4 * MiB, seed=52))
    state0 = _state(local, vid)
    full = backed_up(api, vid)
    assert (full["container"], full["availability_zone"]) == ("local", "default")
    base = f"volume-{vid}.backup.{full['id']}"
    assert pool_devices(settings, "backup_targets") == {"local": [base]}

    _write(local, vid, 2 * MiB, pattern(MiB, seed=53))
    _write(local, vid, 600 * MiB, bytes(MiB))
    state1 = _state(local, vid)
    inc = backed_up(api, vid, incremental=True)
    assert inc["is_incremental"] and 0 < inc["object_count"] <= 2 < full["object_count"]
    assert show(api, full["id"])["has_dependent_backups"]
    assert len(snapshots_of(settings, "backup_targets", "local", base)) == 2

    r0 = restore(api, full["id"])["volume_id"]
    big = api.wait(api.create(size=2)["id"])["id"]
    _write(local, big, 0, pattern(8 * MiB, seed=54))
    _write(local, big, (1 << 30) + MiB, pattern(MiB, seed=54))
    restore(api, inc["id"], volume_id=big)
    assert (_state(local, r0), _state(local, big)) == (state0, state1)
    assert _read(local, big, (1 << 30) + MiB, MiB) == bytes(MiB)
    assert "Incremental backups exist" in fault(api.delete(f"/backups/{full['id']}"), 400)

    for b in (inc, full):
        assert api.delete(f"/backups/{b['id']}").status_code == 202
        backup_gone(api, b["id"])
    for v in (vid, r0, big):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    assert pool_devices(settings, "backup_targets") == {"local": []}
    assert pool_devices(settings) == {"local": []}
