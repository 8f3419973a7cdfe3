"""Snapshot actions: an admin's os-reset_status and os-force_delete, the owner's
os-update_snapshot_status, in Cinder's vocabularies and transitions, through the API and the
`cinder` CLI; a forced delete removes the device snapshot whatever the record said."""

from __future__ import annotations

from typing import Any

from cowcloud.config import Settings

from .conftest import User
from .helpers import VolumeApi, cinder, fault, rbd_cli


def _snaps_on_device(ceph_clusters: list[Any], vid: str) -> list[str]:
    return [s["name"] for s in rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{vid}")]


def _act(api: VolumeApi, sid: str, name: str, arg: Any) -> Any:
    return api.post(f"/snapshots/{sid}/action", json={name: arg})


def test_reset_update_and_force_delete(alice: User, admin: VolumeApi, settings: Settings,
                                       ceph_clusters: list[Any]) -> None:
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    snap = api.snapshot(vid)
    sid = snap["id"]
    # only an admin resets; the owner may report progress only from creating or deleting
    fault(_act(api, sid, "os-reset_status", {"status": "error"}), 403)
    assert "not allowed for update_snapshot_status" in fault(
        _act(api, sid, "os-update_snapshot_status", {"status": "error"}), 400)
    assert _act(admin, sid, "os-reset_status", {"status": "creating"}).status_code == 202
    assert api.get(f"/snapshots/{sid}").json()["snapshot"]["status"] == "creating"
    assert "not allowed for snapshot with status creating" in fault(
        _act(api, sid, "os-update_snapshot_status", {"status": "deleting"}), 400)
    assert _act(api, sid, "os-update_snapshot_status",
                {"status": "error", "progress": "80%"}).status_code == 202
    shown = api.get(f"/snapshots/{sid}").json()["snapshot"]
    assert shown["status"] == "error"
    assert shown["os-extended-snapshot-attributes:progress"] == "80%"
    # bad input, the record unchanged
    for bad in ({"status": "nonsense"}, {}, {"status": "error", "extra": 1}, "error"):
        fault(_act(admin, sid, "os-reset_status", bad), 400)
    fault(_act(admin, sid, "os-nonsense", {}), 400)
    fault(_act(admin, "0" * 32, "os-reset_status", {"status": "error"}), 404)
    assert api.get(f"/snapshots/{sid}").json()["snapshot"]["status"] == "error"
    # a snapshot the record says is being deleted (no task runs for it): a plain delete is
    # refused, a member's force too; an admin's force removes the device snapshot
    assert _act(admin, sid, "os-reset_status", {"status": "deleting"}).status_code == 202
    assert "must be available" in fault(api.delete(f"/snapshots/{sid}"), 400)
    fault(_act(api, sid, "os-force_delete", {}), 403)
    assert _snaps_on_device(ceph_clusters, vid) == [f"snapshot-{sid}"]
    assert _act(admin, sid, "os-force_delete", {}).status_code == 202
    api.snapshot_gone(sid)
    assert _snaps_on_device(ceph_clusters, vid) == []
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)


def test_cinder_cli_snapshot_reset_and_force_delete(srv: Any, alice: User,
                                                    ceph_clusters: list[Any]) -> None:
    as_admin = lambda *a, **kw: cinder(srv.url, "admin", srv.admin_password,  # noqa: E731
                                       "admin", *a, **kw)
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    sid = api.snapshot(vid)["id"]
    as_admin("snapshot-reset-state", "--state", "error_deleting", sid)
    assert api.get(f"/snapshots/{sid}").json()["snapshot"]["status"] == "error_deleting"
    bad = as_admin("snapshot-reset-state", "--state", "nonsense", sid, check=False)
    assert bad.returncode != 0 and "invalid" in (bad.stdout + bad.stderr).lower()
    as_admin("--os-volume-api-version", "3.0", "snapshot-delete", "--force", sid)
    api.snapshot_gone(sid)
    assert _snaps_on_device(ceph_clusters, vid) == []
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
