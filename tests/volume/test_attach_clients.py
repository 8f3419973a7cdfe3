"""The real clients on attachments and the admin actions: openstacksdk's block_storage proxy
(as a compute service written with it would call them) and the cinder CLI."""

from __future__ import annotations

import uuid

import openstack
from server import RunningServer

from .conftest import User
from .helpers import VolumeApi, cinder, fault, pool_devices

CONNECTOR = {"host": "compute-2", "ip": "127.0.0.1", "platform": "x86_64", "os_type": "linux",
             "multipath": False, "mountpoint": "/dev/vdc"}


def test_openstacksdk_attachments(srv: RunningServer, alice: User) -> None:
    conn = openstack.connect(**srv.cloud(alice.name, alice.password, alice.project))
    try:
        bs = conn.block_storage
        vol = bs.wait_for_status(bs.create_volume(size=1), "available", wait=120)
        server = str(uuid.uuid4())
        att = bs.create_attachment(vol, instance=server)
        assert att.status == "reserved"
        att = bs.update_attachment(att, connector=CONNECTOR)
        assert att.connection_info["driver_volume_type"] == "rbd"
        assert att.connection_info["name"] == f"volumes/volume-{vol.id}"
        bs.complete_attachment(att)
        vol = bs.get_volume(vol.id)
        assert vol.status == "in-use" and vol.attachments[0]["server_id"] == server
        assert att.id in {a.id for a in bs.attachments(volume_id=vol.id)}
        assert bs.get_attachment(att.id).status == "attached"
        bs.delete_attachment(att)
        assert bs.get_volume(vol.id).status == "available"

        # the legacy calls
        bs.reserve_volume(vol)
        assert bs.get_volume(vol.id).status == "attaching"
        info = bs.init_volume_attachment(vol, CONNECTOR)
        assert info["driver_volume_type"] == "rbd"
        bs.attach_volume(vol, "/dev/vdc", instance=server)
        vol = bs.get_volume(vol.id)
        assert vol.status == "in-use"
        bs.begin_volume_detaching(vol)
        bs.abort_volume_detaching(vol)
        assert bs.get_volume(vol.id).status == "in-use"
        bs.detach_volume(vol, vol.attachments[0]["attachment_id"])
        bs.terminate_volume_attachment(vol, CONNECTOR)
        bs.unreserve_volume(vol)
        assert bs.get_volume(vol.id).status == "available"
        bs.delete_volume(vol)
        bs.wait_for_delete(vol, wait=60)
    finally:
        conn.close()


def test_openstacksdk_admin_actions(srv: RunningServer, alice: User) -> None:
    admin = openstack.connect(**srv.cloud())
    user = openstack.connect(**srv.cloud(alice.name, alice.password, alice.project))
    try:
        vol = user.block_storage.wait_for_status(user.block_storage.create_volume(size=1),
                                                 "available", wait=120)
        admin.block_storage.reset_volume_status(vol, "error", None, "migrating")
        shown = admin.block_storage.get_volume(vol.id)
        assert shown.status == "error" and shown.migration_status == "migrating"
        admin.block_storage.reset_volume_status(vol, "available", None, "none")
        with_user = user.block_storage.get_volume(vol.id)
        assert with_user.status == "available" and with_user.migration_status is None
        try:
            user.block_storage.reset_volume_status(vol, "error", None, None)
            raise AssertionError("a member reset a volume's status")
        except openstack.exceptions.ForbiddenException:
            pass
        admin.block_storage.reset_volume_status(vol, "maintenance", None, None)
        admin.block_storage.delete_volume(vol, force=True)  # 3.23: DELETE ?force=true
        user.block_storage.wait_for_delete(vol, wait=60)
    finally:
        admin.close()
        user.close()


def test_cinder_cli_attachments_and_admin(srv: RunningServer, alice: User, admin: VolumeApi,
                                          settings) -> None:
    run = lambda *a, **kw: cinder(srv.url, alice.name, alice.password,  # noqa: E731
                                  alice.project, *a, **kw)
    as_admin = lambda *a, **kw: cinder(srv.url, "admin", srv.admin_password,  # noqa: E731
                                       "admin", *a, **kw)
    vid = alice.api.wait(alice.api.create(size=1)["id"])["id"]
    server = str(uuid.uuid4())
    out = run("--os-volume-api-version", "3.44", "attachment-create", "--connect", "True",
              "--host", "compute-3", "--ip", "127.0.0.1", "--mountpoint", "/dev/vdb", vid,
              server).stdout
    aid = next(line.split("|")[2].strip() for line in out.splitlines()
               if line.startswith("| id "))
    assert "rbd" in out and alice.api.volume(vid)["status"] == "attaching"
    run("--os-volume-api-version", "3.44", "attachment-complete", aid)
    assert alice.api.volume(vid)["status"] == "in-use"
    assert aid in run("--os-volume-api-version", "3.27", "attachment-list").stdout
    assert "attached" in run("--os-volume-api-version", "3.27", "attachment-show", aid).stdout
    refused = run("delete", vid, check=False)
    assert refused.returncode != 0 and "attached" in refused.stdout + refused.stderr
    assert f"volume-{vid}" in pool_devices(settings)["central"]
    # a member cannot force; an admin cannot force an attached volume away either
    denied = run("force-delete", vid, check=False)
    assert denied.returncode != 0 and "not authorized" in (denied.stdout + denied.stderr).lower()
    forced = as_admin("force-delete", vid, check=False)
    assert forced.returncode != 0 and "attached" in forced.stdout + forced.stderr
    # the server died without detaching: the admin says so, and the volume is free
    as_admin("reset-state", "--attach-status", "detached", vid)
    vol = alice.api.volume(vid)
    assert vol["status"] == "available" and vol["attachments"] == []
    fault(alice.api.get(f"/attachments/{aid}", version="3.27"), 404)
    as_admin("reset-state", "--state", "error", vid)
    assert alice.api.volume(vid)["status"] == "error"
    bad = as_admin("reset-state", "--state", "nonsense", vid, check=False)
    assert bad.returncode != 0 and "invalid" in (bad.stdout + bad.stderr).lower()
    as_admin("force-delete", vid)
    alice.api.gone(vid)
