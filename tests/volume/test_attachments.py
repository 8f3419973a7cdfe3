"""Attachments as a compute service drives them: the 3.27 attachments API (reserve, connect,
complete, delete), the legacy attach actions, connection_info for rbd and local volumes, and
what an attached volume refuses (delete, a snapshot without force, a second server)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from typing import Any

import httpx
from server import race

from cowcloud.config import Settings

from .conftest import User
from .helpers import VolumeApi, fault, pool_devices, unique

NEW = "3.27"
COMPLETE = "3.44"
CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1", "platform": "x86_64", "os_type": "linux",
             "multipath": False, "mountpoint": "/dev/vdb"}


def _attach(api: VolumeApi, volume_id: str, server: str | None = None,
            connector: dict[str, Any] | None = None, version: str = NEW) -> httpx.Response:
    body: dict[str, Any] = {"volume_uuid": volume_id}
    if server:
        body["instance_uuid"] = server
    if connector is not None:
        body["connector"] = connector
    return api.post("/attachments", json={"attachment": body}, version=version)



def _mon(info: Any) -> tuple[str, str]:
    text = info.conf.read_text()
    m = re.search(r"mon host = v1:([\d.]+):(\d+)", text)
    assert m, text
    return m.group(1), m.group(2)


def test_attachment_lifecycle(alice: User, ceph_clusters, settings: Settings) -> None:
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    vid, server = vol["id"], str(uuid.uuid4())
    assert vol["attachments"] == [] and vol["multiattach"] is False
    # the call does not exist before 3.27
    fault(api.post("/attachments", json={"attachment": {"volume_uuid": vid}}), 404)

    resp = _attach(api, vid, server)
    assert resp.status_code == 200, resp.text
    att = resp.json()["attachment"]
    assert (att["status"], att["instance"], att["volume_id"]) == ("reserved", server, vid)
    assert att["connection_info"] == {} and att["attach_mode"] == "null"
    assert api.volume(vid)["status"] == "reserved"
    # a reserved volume takes no other server
    assert "status must be available" in fault(_attach(api, vid, str(uuid.uuid4())), 400)

    resp = api.put(f"/attachments/{att['id']}", json={"attachment": {"connector": CONNECTOR}},
                   version=NEW)
    assert resp.status_code == 200, resp.text
    att = resp.json()["attachment"]
    info = att["connection_info"]
    c0 = ceph_clusters[0]
    host, port = _mon(c0)
    assert info["driver_volume_type"] == "rbd"
    assert info["name"] == f"volumes/volume-{vid}" and info["volume_id"] == vid
    assert (info["hosts"], info["ports"]) == ([host], [port])
    assert info["auth_enabled"] is True and info["auth_username"] == c0.user
    assert (info["secret_type"], info["secret_uuid"]) == ("ceph", c0.fsid)
    assert info["cluster_name"] == "ceph" and info["discard"] is True
    assert info["attachment_id"] == att["id"] and info["access_mode"] == "rw"
    assert att["status"] == "attaching" and api.volume(vid)["status"] == "attaching"

    # os-complete is 3.44's
    fault(api.post(f"/attachments/{att['id']}/action", json={"os-complete": None},
                   version=NEW), 404)
    resp = api.post(f"/attachments/{att['id']}/action", json={"os-complete": None},
                    version=COMPLETE)
    assert resp.status_code == 204, resp.text
    vol = api.volume(vid)
    assert vol["status"] == "in-use"
    (shown,) = vol["attachments"]
    assert shown == {"id": vid, "attachment_id": att["id"], "volume_id": vid,
                     "server_id": server, "host_name": None, "device": "/dev/vdb",
                     "attached_at": shown["attached_at"]}
    assert shown["attached_at"]
    listed = api.get("/volumes/detail").json()["volumes"]  # one query for all volumes' attachments
    assert next(v for v in listed if v["id"] == vid)["attachments"] == [shown]
    listed = api.get("/attachments", params={"volume_id": vid}, version=NEW).json()
    assert listed == {"attachments": [{"id": att["id"], "status": "attached",
                                       "instance": server, "volume_id": vid}]}
    detail = api.get("/attachments/detail", params={"volume_id": vid}, version=NEW).json()
    assert detail["attachments"][0]["connection_info"]["name"] == f"volumes/volume-{vid}"
    assert api.get(f"/attachments/{att['id']}", version=NEW).json()["attachment"]["status"] \
        == "attached"

    # an attached volume: no delete (nothing lost), a snapshot only with force
    before = pool_devices(settings)["central"]
    assert "attached" in fault(api.delete(f"/volumes/{vid}"), 400)
    assert "must be available" in fault(api.post("/snapshots", json={"snapshot": {
        "volume_id": vid}}), 400)
    snap = api.snapshot(vid, force=True)
    assert api.volume(vid)["status"] == "in-use" and pool_devices(settings)["central"] == before
    assert "flag is invalid" in fault(api.post("/snapshots", version="3.66", json={
        "snapshot": {"volume_id": vid, "force": False}}), 400)

    resp = api.delete(f"/attachments/{att['id']}", version=NEW)
    assert resp.status_code == 200 and resp.json() == {"attachments": []}
    vol = api.volume(vid)
    assert vol["status"] == "available" and vol["attachments"] == []
    fault(api.get(f"/attachments/{att['id']}", version=NEW), 404)
    assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
    api.snapshot_gone(snap["id"])
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)


def test_create_with_a_connector_and_bad_input(alice: User, bob: User, admin: VolumeApi
                                               ) -> None:
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    before = api.get("/attachments", version=NEW).json()
    missing = str(uuid.uuid4())
    fault(_attach(api, missing), 404)
    fault(_attach(bob.api, vid), 404)  # another project's volume
    fault(api.post("/attachments", json={"attachment": {}}, version=NEW), 400)
    fault(api.post("/attachments", json={"attachment": {"volume_uuid": vid, "x": 1}},
                   version=NEW), 400)
    fault(_attach(api, vid, "not-a-uuid"), 400)
    fault(_attach(api, vid, connector="host"), 400)  # type: ignore[arg-type]
    fault(api.post("/attachments", version="3.54", json={"attachment": {
        "volume_uuid": vid, "mode": "rx"}}), 400)
    fault(api.put(f"/attachments/{missing}", json={"attachment": {"connector": CONNECTOR}},
                  version=NEW), 404)
    assert api.get("/attachments", version=NEW).json() == before
    assert api.volume(vid)["status"] == "available"

    # reserve and connect in one call, read-only
    resp = api.post("/attachments", version="3.54", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()), "connector": CONNECTOR,
        "mode": "ro"}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["attachment"]
    assert att["status"] == "attaching" and att["attach_mode"] == "ro"
    assert att["connection_info"]["access_mode"] == "ro"
    fault(api.put(f"/attachments/{att['id']}", json={"attachment": {"connector": {}}},
                  version=NEW), 400)
    fault(bob.api.delete(f"/attachments/{att['id']}", version=NEW), 404)
    assert att["id"] in {a["id"] for a in admin.get(
        "/attachments", params={"all_tenants": "1"}, version=NEW).json()["attachments"]}
    assert api.delete(f"/attachments/{att['id']}", version=NEW).status_code == 200
    assert api.volume(vid)["status"] == "available"
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)


def test_multiattach_needs_the_type(alice: User, admin: VolumeApi) -> None:
    api = alice.api
    name = unique("multi")
    resp = admin.post("/types", json={"volume_type": {
        "name": name, "extra_specs": {"multiattach": "<is> True"}}})
    assert resp.status_code == 200, resp.text
    vtype = resp.json()["volume_type"]
    multi = api.wait(api.create(size=1, volume_type=name, multiattach=True)["id"])
    assert multi["multiattach"] is True
    single = api.wait(api.create(size=1)["id"])
    assert "does not allow multiattach" in fault(api.post("/volumes", json={"volume": {
        "size": 1, "multiattach": True}}), 400)
    ids = []
    for vol in (multi, single):
        a = _attach(api, vol["id"], str(uuid.uuid4()), CONNECTOR).json()["attachment"]
        api.post(f"/attachments/{a['id']}/action", json={"os-complete": None},
                 version=COMPLETE)
        ids.append(a["id"])
    second = _attach(api, multi["id"], str(uuid.uuid4()), CONNECTOR)
    assert second.status_code == 200, second.text
    api.post(f"/attachments/{second.json()['attachment']['id']}/action",
             json={"os-complete": None}, version=COMPLETE)
    assert len(api.volume(multi["id"])["attachments"]) == 2
    assert "status must be available" in fault(
        _attach(api, single["id"], str(uuid.uuid4())), 400)
    # the last attachment's delete frees the volume, not the first
    left = api.delete(f"/attachments/{ids[0]}", version=NEW).json()["attachments"]
    assert len(left) == 1 and api.volume(multi["id"])["status"] == "in-use"
    api.delete(f"/attachments/{left[0]['id']}", version=NEW)
    api.delete(f"/attachments/{ids[1]}", version=NEW)
    for vol in (multi, single):
        assert api.volume(vol["id"])["status"] == "available"
        assert api.delete(f"/volumes/{vol['id']}").status_code == 202
        api.gone(vol["id"])
    assert admin.delete(f"/types/{vtype['id']}").status_code == 202


def _act(api: VolumeApi, vid: str, name: str, arg: Any = None, status: int = 202) -> Any:
    resp = api.post(f"/volumes/{vid}/action", json={name: arg})
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def test_legacy_attach_actions(alice: User) -> None:
    """Nova's old flow: reserve, initialize_connection, attach, begin_detaching, detach,
    terminate_connection; and the rolls back of each half-way step."""
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    server = str(uuid.uuid4())
    _act(api, vid, "os-reserve")
    assert api.volume(vid)["status"] == "attaching"
    assert "status must be available" in fault(
        api.post(f"/volumes/{vid}/action", json={"os-reserve": None}), 400)
    _act(api, vid, "os-unreserve")
    assert api.volume(vid)["status"] == "available"
    _act(api, vid, "os-reserve")
    conn = _act(api, vid, "os-initialize_connection", {"connector": CONNECTOR}, 200)
    info = conn["connection_info"]
    assert info["driver_volume_type"] == "rbd"
    assert info["data"]["name"] == f"volumes/volume-{vid}" and "enforce_multipath" in info
    fault(api.post(f"/volumes/{vid}/action", json={"os-initialize_connection": {}}), 400)
    fault(api.post(f"/volumes/{vid}/action", json={"os-attach": {"instance_uuid": server}}),
          400)  # no mountpoint
    fault(api.post(f"/volumes/{vid}/action", json={"os-attach": {"mountpoint": "/dev/vdc"}}),
          400)  # neither server nor host
    _act(api, vid, "os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdc"})
    vol = api.volume(vid)
    assert vol["status"] == "in-use" and vol["attachments"][0]["server_id"] == server
    assert vol["attachments"][0]["device"] == "/dev/vdc"
    fault(api.post(f"/volumes/{vid}/action", json={"os-attach": {
        "instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdd"}}), 400)
    _act(api, vid, "os-begin_detaching")
    assert api.volume(vid)["status"] == "detaching"
    fault(api.post(f"/volumes/{vid}/action", json={"os-begin_detaching": None}), 400)
    _act(api, vid, "os-roll_detaching")
    assert api.volume(vid)["status"] == "in-use"
    _act(api, vid, "os-begin_detaching")
    _act(api, vid, "os-detach", {"attachment_id": vol["attachments"][0]["attachment_id"]})
    _act(api, vid, "os-terminate_connection", {"connector": CONNECTOR})
    vol = api.volume(vid)
    assert vol["status"] == "available" and vol["attachments"] == []
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)


def test_local_volume_connection_is_its_qcow2(alice: User, admin: VolumeApi) -> None:
    name = unique("edge")
    vtype = admin.post("/types", json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": "edge"}}}).json()["volume_type"]
    api = alice.api
    vid = api.wait(api.create(size=1, volume_type=name)["id"])["id"]
    att = _attach(api, vid, str(uuid.uuid4()), CONNECTOR).json()["attachment"]
    info = att["connection_info"]
    assert info["driver_volume_type"] == "local" and info["format"] == "qcow2"
    probe = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", info["device_path"]], check=True,
        capture_output=True, text=True).stdout)
    assert probe["format"] == "qcow2" and probe["virtual-size"] == 1 << 30
    api.post(f"/attachments/{att['id']}/action", json={"os-complete": None},
             version=COMPLETE)
    # a qcow2 snapshot would move the layer a guest writes: refused while in use
    assert "cannot be taken under a running guest" in fault(api.post("/snapshots", json={
        "snapshot": {"volume_id": vid, "force": True}}), 400)
    api.delete(f"/attachments/{att['id']}", version=NEW)
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
    assert admin.delete(f"/types/{vtype['id']}").status_code == 202


def test_two_servers_racing_for_one_volume(alice: User) -> None:
    """Reservation is one conditional update: of two servers asking at once, one wins."""
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    for _ in range(3):
        answers = race([lambda: _attach(api, vid, str(uuid.uuid4()), CONNECTOR)
                        for _ in range(2)])
        assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
        listed = api.get("/attachments", params={"volume_id": vid}, version=NEW).json()
        (only,) = listed["attachments"]
        assert api.delete(f"/attachments/{only['id']}", version=NEW).status_code == 200
        assert api.volume(vid)["status"] == "available"
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
