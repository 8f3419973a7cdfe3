"""Quotas and limits per project: /os-quota-sets and /limits through cinder, openstacksdk and
HTTP; enforcement on create, extend and snapshot in Cinder's 413; no race between creates."""

from __future__ import annotations

import openstack
from server import RunningServer, race

from cowcloud.config import Settings

from .backup_helpers import backed_up, backup_gone
from .conftest import User, _make_user
from .helpers import VolumeApi, cinder, fault, pool_devices, unique


def _quota(admin: VolumeApi, project: str, **limits: int) -> dict:
    resp = admin.put(f"/os-quota-sets/{project}", json={"quota_set": limits})
    assert resp.status_code == 200, resp.text
    return resp.json()["quota_set"]


def test_quota_sets_show_update_defaults_reset(srv: RunningServer, admin: VolumeApi,
                                               settings: Settings) -> None:
    carol = _make_user(srv)
    run = lambda *a, **kw: cinder(srv.url, "admin", srv.admin_password, "admin",  # noqa: E731
                                  *a, **kw)
    shown = carol.api.get(f"/os-quota-sets/{carol.project_id}").json()["quota_set"]
    assert shown == {"id": carol.project_id, "volumes": 10, "snapshots": 10,
                     "gigabytes": 1000, "backups": 10, "backup_gigabytes": 1000,
                     "per_volume_gigabytes": -1, "groups": 10}
    run("quota-update", "--volumes", "7", "--gigabytes", "70", carol.project_id)
    out = run("quota-show", carol.project_id).stdout
    assert "| volumes " in out and " 7 " in out and " 70 " in out
    defaults = run("quota-defaults", carol.project_id).stdout
    assert " 1000 " in defaults and " 7 " not in defaults

    conn = openstack.connect(**srv.cloud())
    try:
        qs = conn.block_storage.get_quota_set(carol.project_id, usage=True)
        assert qs.usage["volumes"] == 0 and qs.volumes == 7
    finally:
        conn.close()
    usage = carol.api.get(f"/os-quota-sets/{carol.project_id}?usage=true").json()["quota_set"]
    assert usage["gigabytes"] == {"limit": 70, "in_use": 0, "reserved": 0, "allocated": 0}

    # a member may read its own project's quotas, not another's, and change none
    assert fault(carol.api.get(f"/os-quota-sets/{admin.project_id}"), 403)
    assert fault(carol.api.put(f"/os-quota-sets/{carol.project_id}",
                               json={"quota_set": {"volumes": 100}}), 403)
    assert fault(carol.api.delete(f"/os-quota-sets/{carol.project_id}"), 403)
    # bad input: nothing of the body is applied
    msg = fault(admin.put(f"/os-quota-sets/{carol.project_id}",
                          json={"quota_set": {"volumes": 1, "bogus": 2}}), 400)
    assert msg == "Invalid input received: Bad key(s) in quota set: bogus"
    for bad in ("many", -2, 1.5, True, 1 << 40):
        fault(admin.put(f"/os-quota-sets/{carol.project_id}",
                        json={"quota_set": {"volumes": 1, "snapshots": bad}}), 400)
    fault(admin.put(f"/os-quota-sets/{carol.project_id}", json={"quota": {}}), 400)
    assert _quota(admin, carol.project_id)["volumes"] == 7

    assert admin.delete(f"/os-quota-sets/{carol.project_id}").status_code == 200
    assert carol.api.get(f"/os-quota-sets/{carol.project_id}").json()["quota_set"] == shown


def test_limits_and_enforcement(srv: RunningServer, admin: VolumeApi, settings: Settings) -> None:
    carol = _make_user(srv)
    _quota(admin, carol.project_id, volumes=2, gigabytes=3, snapshots=1)
    a = carol.api.create(size=1)
    carol.api.wait(a["id"])
    limits = carol.api.get("/limits").json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 2 and limits["maxTotalVolumeGigabytes"] == 3
    assert limits["totalVolumesUsed"] == 1 and limits["totalGigabytesUsed"] == 1
    assert limits["maxTotalSnapshots"] == 1 and limits["totalSnapshotsUsed"] == 0
    assert limits["maxTotalBackups"] == 10 and limits["totalBackupsUsed"] == 0
    conn = openstack.connect(**srv.cloud(carol.name, carol.password, carol.project))
    try:
        assert conn.block_storage.get_limits().absolute.max_total_volumes == 2
    finally:
        conn.close()
    theirs = admin.get("/limits", params={"project_id": carol.project_id}, version="3.39")
    assert theirs.json()["limits"]["absolute"]["totalVolumesUsed"] == 1
    before = admin.get("/limits", params={"project_id": carol.project_id}).json()
    assert before == admin.get("/limits").json()  # before 3.39: the caller's own
    fault(carol.api.get("/limits", params={"project_id": admin.project_id}, version="3.39"),
          403)
    usage = cinder(srv.url, "admin", srv.admin_password, "admin", "quota-usage",
                   carol.project_id).stdout
    assert "| volumes " in usage and "| 1 " in usage

    over = carol.api.post("/volumes", json={"volume": {"size": 3, "name": unique("big")}})
    assert fault(over, 413) == ("Requested volume or snapshot exceeds allowed gigabytes quota. "
                                "Requested 3G, quota is 3G and 1G has been consumed.")
    assert over.headers["Retry-After"] == "0"
    ext = carol.api.post(f"/volumes/{a['id']}/action", json={"os-extend": {"new_size": 4}})
    assert "quota is 3G" in fault(ext, 413)
    assert carol.api.volume(a["id"])["status"] == "available"
    snap = carol.api.snapshot(a["id"])
    second = carol.api.post("/snapshots", json={"snapshot": {"volume_id": a["id"]}})
    assert fault(second, 413) == "Maximum number of snapshots allowed (1) exceeded"
    carol.api.delete(f"/snapshots/{snap['id']}")
    carol.api.snapshot_gone(snap["id"])

    # one slot left, six creates at once: exactly one gets it
    answers = race([lambda: carol.api.post("/volumes", json={"volume": {
        "size": 1, "name": unique("race")}}) for _ in range(6)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] + [413] * 5, [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 413)
    assert fault(refused, 413) == ("Maximum number of volumes allowed (2) exceeded for quota "
                                   "'volumes'.")
    won = next(r for r in answers if r.status_code == 202).json()["volume"]
    carol.api.wait(won["id"])
    listed = carol.api.get("/volumes").json()["volumes"]
    assert sorted(v["id"] for v in listed) == sorted([a["id"], won["id"]])

    # the cinder CLI shows Cinder's words
    res = cinder(srv.url, carol.name, carol.password, carol.project, "create", "1",
                 check=False)
    assert res.returncode != 0 and "Maximum number of volumes allowed (2)" in res.stderr

    for vid in (a["id"], won["id"]):
        carol.api.delete(f"/volumes/{vid}")
        carol.api.gone(vid)
    assert carol.api.get("/limits").json()["limits"]["absolute"]["totalVolumesUsed"] == 0
    admin.delete(f"/os-quota-sets/{carol.project_id}")
    devices = pool_devices(settings)["central"]
    assert not any(d in devices for d in (f"volume-{a['id']}", f"volume-{won['id']}"))


def test_per_volume_limit(srv: RunningServer, admin: VolumeApi) -> None:
    carol: User = _make_user(srv)
    _quota(admin, carol.project_id, per_volume_gigabytes=2)
    resp = carol.api.post("/volumes", json={"volume": {"size": 3}})
    assert fault(resp, 413) == "Requested volume size 3G is larger than maximum allowed limit 2G."
    assert carol.api.get("/volumes").json()["volumes"] == []
    admin.delete(f"/os-quota-sets/{carol.project_id}")


def test_the_default_quota_class_sets_every_projects_defaults(srv: RunningServer,
                                                              admin: VolumeApi) -> None:
    carol, dave = _make_user(srv), _make_user(srv)
    run = lambda *a, **kw: cinder(srv.url, "admin", srv.admin_password, "admin",  # noqa: E731
                                  *a, **kw)
    shown = admin.get("/os-quota-class-sets/default").json()["quota_class_set"]
    assert shown == {"id": "default", "volumes": 10, "snapshots": 10, "gigabytes": 1000,
                     "backups": 10, "backup_gigabytes": 1000, "per_volume_gigabytes": -1,
                     "groups": 10}
    _quota(admin, dave.project_id, volumes=3)
    try:
        run("quota-class-update", "--volumes", "12", "default")
        assert " 12 " in run("quota-class-show", "default").stdout
        mine = carol.api.get(f"/os-quota-sets/{carol.project_id}").json()["quota_set"]
        assert mine["volumes"] == 12 and mine["snapshots"] == 10
        assert carol.api.get(f"/os-quota-sets/{carol.project_id}/defaults").json()[
            "quota_set"]["volumes"] == 12
        assert carol.api.get("/limits").json()["limits"]["absolute"]["maxTotalVolumes"] == 12
        # a project's own limit stays its own
        assert dave.api.get(f"/os-quota-sets/{dave.project_id}").json()["quota_set"][
            "volumes"] == 3
        # bad input, and members, change nothing
        assert fault(admin.put("/os-quota-class-sets/default", json={"quota_class_set": {
            "volumes": 1, "nope": 1}}), 400) == (
            "Invalid input received: Bad key(s) in quota class set: nope")
        fault(admin.put("/os-quota-class-sets/default",
                        json={"quota_class_set": {"volumes": -5}}), 400)
        fault(carol.api.put("/os-quota-class-sets/default",
                            json={"quota_class_set": {"volumes": 100}}), 403)
        fault(carol.api.get("/os-quota-class-sets/default"), 403)
        fault(admin.get("/os-quota-sets/class:default"), 400)
        assert admin.get("/os-quota-class-sets/default").json()["quota_class_set"][
            "volumes"] == 12
    finally:
        resp = admin.put("/os-quota-class-sets/default", json={"quota_class_set": {
            "volumes": 10}})
        assert resp.status_code == 200, resp.text
        admin.delete(f"/os-quota-sets/{dave.project_id}")
    assert carol.api.get(f"/os-quota-sets/{carol.project_id}").json()["quota_set"][
        "volumes"] == 10


def test_backups_count_against_the_backup_quotas(srv: RunningServer, admin: VolumeApi) -> None:
    """backups and backup_gigabytes are enforced on backup create (413, nothing recorded), and
    a restore into a new volume counts as a volume create."""
    dave = _make_user(srv)
    _quota(admin, dave.project_id, backups=1, backup_gigabytes=5, volumes=1)
    vol = dave.api.create(size=1)
    dave.api.wait(vol["id"])
    first = backed_up(dave.api, vol["id"])
    limits = dave.api.get("/limits").json()["limits"]["absolute"]
    assert limits["totalBackupsUsed"] == 1 and limits["totalBackupGigabytesUsed"] == 1
    second = dave.api.post("/backups", json={"backup": {"volume_id": vol["id"]}})
    assert fault(second, 413) == "Maximum number of backups allowed (1) exceeded"
    assert len(dave.api.get("/backups").json()["backups"]) == 1
    assert dave.api.volume(vol["id"])["status"] == "available"
    # the project's one volume slot is taken: a restore into a new volume is refused
    restored = dave.api.post(f"/backups/{first['id']}/restore", json={"restore": {}})
    assert "Maximum number of volumes allowed (1)" in fault(restored, 413)
    assert dave.api.get(f"/backups/{first['id']}").json()["backup"]["status"] == "available"
    _quota(admin, dave.project_id, backups=2, backup_gigabytes=1)
    big = dave.api.post("/backups", json={"backup": {"volume_id": vol["id"]}})
    assert fault(big, 413).startswith("Requested backup exceeds allowed Backup gigabytes quota.")
    dave.api.delete(f"/backups/{first['id']}")
    backup_gone(dave.api, first["id"])
    dave.api.delete(f"/volumes/{vol['id']}")
    dave.api.gone(vol["id"])
