"""Backups over the API on real Ceph: full and incremental into the default target (another
pool of the volume's cluster) and into another cluster, restores into new and existing
volumes holding exactly the bytes of their backup, Cinder's refusals, deletes in every order,
and pools left empty."""

from __future__ import annotations

from server import RunningServer

from cowcloud.config import Settings
from cowcloud.db.models import Volume

from .backup_helpers import (
    MiB,
    backed_up,
    backup,
    backup_gone,
    read_volume,
    restore,
    show,
    snapshots_of,
    wait_backup,
    write_volume,
)
from .conftest import User
from .helpers import VolumeApi, fault, pattern, pool_devices

GiB = 1 << 30


def _state(settings: Settings, vid: str, backend: str = "central") -> bytes:
    """The bytes the tests write into: the first 8 MiB and 4 MiB at 600 MiB."""
    return (read_volume(settings, backend, vid, 0, 8 * MiB)
            + read_volume(settings, backend, vid, 600 * MiB, 4 * MiB))


def _empty(settings: Settings) -> None:
    assert pool_devices(settings, "backup_targets") == {"backups": [], "dcn0": []}
    assert pool_devices(settings)["central"] == []


def test_full_incremental_restores_and_delete_order(alice: User, settings: Settings) -> None:
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    vid = vol["id"]
    write_volume(settings, "central", vid, 0, pattern(8 * MiB, seed=1))
    write_volume(settings, "central", vid, 600 * MiB, pattern(4 * MiB, seed=2))
    state0 = _state(settings, vid)

    full = backed_up(api, vid)
    assert (full["is_incremental"], full["has_dependent_backups"]) == (False, False)
    assert full["container"] == "backups" and full["availability_zone"] == "central"
    assert full["size"] == 1 and full["volume_id"] == vid and full["data_timestamp"]
    assert api.volume(vid)["status"] == "available"
    base = f"volume-{vid}.backup.{full['id']}"
    assert pool_devices(settings, "backup_targets")["backups"] == [base]
    assert [s.split(".snap.")[0] for s in snapshots_of(settings, "backup_targets", "backups",
                                                       base)] == [f"backup.{full['id']}"]
    assert [s.split(".snap.")[0] for s in snapshots_of(settings, "volume_backends", "central",
                                                       f"volume-{vid}")] == [
        f"backup.{full['id']}"]

    # a small change: 1 MiB of new bytes, and 1 MiB cleared (written as zeros)
    write_volume(settings, "central", vid, 2 * MiB, pattern(MiB, seed=3))
    write_volume(settings, "central", vid, 600 * MiB, bytes(MiB))
    state1 = _state(settings, vid)
    inc1 = backed_up(api, vid, incremental=True)
    assert inc1["is_incremental"] and inc1["container"] == "backups"
    assert 0 < inc1["object_count"] <= 2 < full["object_count"]  # only the changes travelled
    assert show(api, full["id"])["has_dependent_backups"]
    write_volume(settings, "central", vid, 5 * MiB, pattern(3 * MiB, seed=4))
    state2 = _state(settings, vid)
    inc2 = backed_up(api, vid, incremental=True)
    assert pool_devices(settings, "backup_targets")["backups"] == [base]  # one chain

    # restores: a new volume, an existing larger one written over, the volume itself
    new = restore(api, full["id"])
    assert new["volume_name"] == f"restore_backup_{full['id']}"
    assert api.volume(new["volume_id"])["size"] == 1
    assert _state(settings, new["volume_id"]) == state0
    big = api.wait(api.create(size=2)["id"])["id"]
    write_volume(settings, "central", big, 0, pattern(8 * MiB, seed=9))
    write_volume(settings, "central", big, GiB + MiB, pattern(MiB, seed=9))
    assert restore(api, inc1["id"], volume_id=big)["volume_id"] == big
    assert _state(settings, big) == state1
    assert read_volume(settings, "central", big, GiB + MiB, MiB) == bytes(MiB)  # excess cleared
    write_volume(settings, "central", vid, 0, pattern(MiB, seed=10))
    restore(api, inc2["id"], volume_id=vid)
    assert _state(settings, vid) == state2

    # deletes: a backup an incremental needs is refused and loses nothing
    snaps = snapshots_of(settings, "backup_targets", "backups", base)
    assert len(snaps) == 3
    for needed in (full, inc1):
        assert fault(api.delete(f"/backups/{needed['id']}"), 400) == (
            "Invalid backup: Incremental backups exist for this backup.")
    assert snapshots_of(settings, "backup_targets", "backups", base) == snaps
    for b in (inc2, inc1):
        assert api.delete(f"/backups/{b['id']}").status_code == 202
        backup_gone(api, b["id"])
    assert _state(settings, restore(api, full["id"], volume_id=big)["volume_id"]) == state0
    assert api.delete(f"/backups/{full['id']}").status_code == 202
    backup_gone(api, full["id"])
    assert snapshots_of(settings, "volume_backends", "central", f"volume-{vid}") == []
    for v in (vid, new["volume_id"], big):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    _empty(settings)


def test_another_cluster_and_the_volume_deleted_first(alice: User, settings: Settings) -> None:
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    write_volume(settings, "central", vid, 0, pattern(8 * MiB, seed=11))
    write_volume(settings, "central", vid, 600 * MiB, pattern(4 * MiB, seed=12))
    state0 = _state(settings, vid)
    full = backed_up(api, vid, container="dcn0")
    assert (full["container"], full["availability_zone"]) == ("dcn0", "dcn0")
    assert pool_devices(settings, "backup_targets")["dcn0"] == [
        f"volume-{vid}.backup.{full['id']}"]
    write_volume(settings, "central", vid, 4 * MiB, pattern(MiB, seed=13))
    state1 = _state(settings, vid)
    # the same zone picks the same target; an incremental follows its parent there
    inc = backed_up(api, vid, incremental=True, availability_zone="dcn0")
    assert inc["container"] == "dcn0" and inc["is_incremental"]
    # no full backup in the default target yet: an incremental there has no parent
    assert "No backups available" in fault(api.post("/backups", json={"backup": {
        "volume_id": vid, "incremental": True, "container": "backups"}}), 400)

    assert api.delete(f"/volumes/{vid}").status_code == 202  # backups outlive their volume
    api.gone(vid)
    r0 = restore(api, full["id"])["volume_id"]
    r1 = restore(api, inc["id"])["volume_id"]
    assert (_state(settings, r0), _state(settings, r1)) == (state0, state1)
    assert show(api, inc["id"])["volume_id"] == vid
    for b in (inc, full):
        assert api.delete(f"/backups/{b['id']}").status_code == 202
        backup_gone(api, b["id"])
    for v in (r0, r1):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    _empty(settings)


def _set_status(srv: RunningServer, vid: str, status: str) -> None:
    """Attachments are another branch's: an attached volume is stood for by its status."""
    with srv.app.state.runtime.db.session() as s:
        row = s.get(Volume, vid)
        assert row is not None
        row.status = status


def test_in_use_needs_force_and_snapshots_back_up(srv: RunningServer, alice: User,
                                                  settings: Settings) -> None:
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    write_volume(settings, "central", vid, 0, pattern(8 * MiB, seed=21))
    write_volume(settings, "central", vid, 600 * MiB, pattern(4 * MiB, seed=22))
    at_snap = _state(settings, vid)
    snap = api.snapshot(vid)
    write_volume(settings, "central", vid, 0, pattern(MiB, seed=23))
    now = _state(settings, vid)

    _set_status(srv, vid, "in-use")
    assert fault(api.post("/backups", json={"backup": {"volume_id": vid}}), 400) == (
        "Invalid volume: Backing up an in-use volume must use the force flag.")
    forced = backed_up(api, vid, force=True)
    assert api.volume(vid)["status"] == "in-use"
    _set_status(srv, vid, "available")
    # an incremental from a snapshot older than the latest backup cannot be
    assert "newer than snapshot" in fault(api.post("/backups", json={"backup": {
        "volume_id": vid, "snapshot_id": snap["id"], "incremental": True}}), 400)
    of_snap = backed_up(api, vid, snapshot_id=snap["id"])
    assert of_snap["snapshot_id"] == snap["id"] and not of_snap["is_incremental"]
    assert api.get(f"/snapshots/{snap['id']}").json()["snapshot"]["status"] == "available"
    r_forced = restore(api, forced["id"])["volume_id"]
    r_snap = restore(api, of_snap["id"])["volume_id"]
    assert (_state(settings, r_forced), _state(settings, r_snap)) == (now, at_snap)

    for b in (forced, of_snap):  # full backups: any order
        assert api.delete(f"/backups/{b['id']}").status_code == 202
    for b in (forced, of_snap):
        backup_gone(api, b["id"])
    assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
    api.snapshot_gone(snap["id"])
    for v in (vid, r_forced, r_snap):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    _empty(settings)


def test_refusals_listing_and_reset(alice: User, bob: User, admin: VolumeApi,
                                    settings: Settings) -> None:
    api = alice.api
    vid = api.wait(api.create(size=2)["id"])["id"]
    small = api.wait(api.create(size=1)["id"])["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    assert fault(api.post("/backups", json={"backup": {"volume_id": missing}}), 404) == (
        f"Volume {missing} could not be found.")
    assert "not a configured backup target" in fault(api.post("/backups", json={"backup": {
        "volume_id": vid, "container": "nowhere"}}), 400)
    assert "has no backup target" in fault(api.post("/backups", json={"backup": {
        "volume_id": vid, "availability_zone": "edge"}}), 400)
    assert fault(api.post("/backups", json={"backup": {}}), 400)
    assert fault(api.get(f"/backups/{missing}"), 404) == f"Backup {missing} could not be found."

    b1 = backed_up(api, vid, name="first", metadata={"k": "v"})
    b2 = backed_up(api, vid, name="second")
    assert fault(api.post(f"/backups/{b1['id']}/restore", json={"restore": {
        "volume_id": small}}), 400) == (
        "Invalid volume: volume size 1 is too small to restore backup of size 2.")
    assert api.volume(small)["status"] == "available"
    assert fault(bob.api.get(f"/backups/{b1['id']}"), 404)  # another project's

    names = lambda resp: [b["name"] for b in resp.json()["backups"]]  # noqa: E731
    assert names(api.get("/backups?sort=name:asc")) == ["first", "second"]
    assert names(api.get("/backups/detail?name=second")) == ["second"]
    page = api.get("/backups?limit=1&sort=name:asc").json()
    assert [b["name"] for b in page["backups"]] == ["first"] and page["backups_links"]
    assert names(api.get(f"/backups?sort=name:asc&marker={b1['id']}")) == ["second"]
    assert fault(api.get("/backups?colour=red", version="3.31"), 400)
    detail = api.get("/backups/detail", version="3.64").json()["backups"]
    assert {b["id"] for b in detail} == {b1["id"], b2["id"]}
    assert all(b["metadata"] is not None and "user_id" in b for b in detail)
    assert api.get(f"/backups/{b1['id']}", version="3.43").json()["backup"]["metadata"] == {
        "k": "v"}
    assert api.put(f"/backups/{b2['id']}", version="3.9",
                   json={"backup": {"name": "renamed"}}).json()["backup"]["name"] == "renamed"

    reset = {"os-reset_status": {"status": "error"}}
    assert fault(api.post(f"/backups/{b2['id']}/action", json=reset), 403)
    assert admin.post(f"/backups/{b2['id']}/action", json=reset).status_code == 202
    assert show(api, b2["id"])["status"] == "error"
    assert fault(admin.post(f"/backups/{b2['id']}/action", json={
        "os-reset_status": {"status": "creating"}}), 400)
    for b in (b1, b2):
        assert api.delete(f"/backups/{b['id']}").status_code == 202
        backup_gone(api, b["id"])
    for v in (vid, small):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    _empty(settings)


def test_tasks_record_their_progress(srv: RunningServer, alice: User,
                                     settings: Settings) -> None:
    """Backup and restore tasks keep (bytes done, bytes to do) in their state, which GET
    /backups/{id} answers as X-Backup-Progress while they run (the CLI's progress bars)."""
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    write_volume(settings, "central", vid, 0, pattern(8 * MiB, seed=31))
    full = backed_up(api, vid, container="dcn0")
    new = restore(api, full["id"])["volume_id"]
    tasks = srv.app.state.runtime.tasks.for_resource(full["id"])
    assert [t.kind for t in tasks] == ["volume_backup_create", "volume_backup_restore"]
    assert [t.state.get("progress") for t in tasks] == [[GiB, GiB], [GiB, GiB]]
    assert "X-Backup-Progress" not in api.get(f"/backups/{full['id']}").headers  # done
    for v in (vid, new):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    assert api.delete(f"/backups/{full['id']}").status_code == 202
    backup_gone(api, full["id"])
    _empty(settings)


def test_incremental_without_its_starting_point_is_full(alice: User,
                                                        settings: Settings) -> None:
    """A backup of a volume snapshot counts the next incremental from that snapshot; once the
    snapshot is deleted there is nothing to count from, and the backup is taken in full (as
    Cinder's driver does when its source snapshot is gone), into a chain of its own."""
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    write_volume(settings, "central", vid, 0, pattern(8 * MiB, seed=41))
    snap = api.snapshot(vid)
    of_snap = backed_up(api, vid, snapshot_id=snap["id"])
    assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
    api.snapshot_gone(snap["id"])
    write_volume(settings, "central", vid, 600 * MiB, pattern(4 * MiB, seed=42))
    state = _state(settings, vid)
    made = backup(api, vid, incremental=True)
    done = wait_backup(api, made["id"])
    assert not done["is_incremental"] and done["object_count"] == 3
    assert not show(api, of_snap["id"])["has_dependent_backups"]
    assert sorted(pool_devices(settings, "backup_targets")["backups"]) == sorted(
        f"volume-{vid}.backup.{b}" for b in (of_snap["id"], made["id"]))
    new = restore(api, made["id"])["volume_id"]
    assert _state(settings, new) == state
    for b in (of_snap, made):
        assert api.delete(f"/backups/{b['id']}").status_code == 202
        backup_gone(api, b["id"])
    for v in (vid, new):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    _empty(settings)
