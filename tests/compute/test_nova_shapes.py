"""Answers in the shape Nova gives (and tempest's response schemas check): key pairs Nova
refuses, /limits without fields Nova lacks, min_count/max_count checked, and the short server
view PUT and rebuild answer with."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from server import run_server, token_for

from cowcloud.config import embedded_default

from .helpers import ComputeApi, fault, unique

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
           "me@host")


@pytest.mark.parametrize("name, key", [
    ("key_/.\\@:", ED25519),  # Nova before 2.92: letters, digits, '_', '-' and spaces only
    (None, "ssh-rsa JUNK nova@ubuntu"),
    (None, "ssh-rsa " + "A" * 2048 + " nova@ubuntu"),  # base64, but no key in it
])
def test_bad_key_pairs_are_refused(admin: ComputeApi, name: str | None, key: str) -> None:
    name = name or unique("kp")
    fault(admin.post("/os-keypairs", json={"keypair": {"name": name, "public_key": key}}),
          400, "badRequest")
    assert name not in [k["keypair"]["name"]
                        for k in admin.get("/os-keypairs").json()["keypairs"]]


def test_a_good_imported_key_pair(admin: ComputeApi) -> None:
    name = unique("kp ok-1")
    resp = admin.post("/os-keypairs", json={"keypair": {"name": name, "public_key": ED25519}})
    assert resp.status_code == 200, resp.text
    assert admin.delete(f"/os-keypairs/{name}").status_code == 202


def test_limits_name_only_novas_fields(admin: ComputeApi) -> None:
    absolute = admin.get("/limits").json()["limits"]["absolute"]
    assert "totalKeyPairsUsed" not in absolute
    assert absolute["maxTotalKeypairs"] == 100


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ComputeApi, str, str]]:
    """A whole cloud (`cowcloud serve` with its agent): (admin api, image id, flavor id)."""
    tmp_path = tmp_path_factory.mktemp("shapes")
    with run_server(tmp_path, embedded_default(tmp_path)) as srv:
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with httpx.Client(base_url=f"{srv.url}/image", timeout=60,
                          headers={"X-Auth-Token": admin.token}) as c:
            iid = c.post("/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                             "container_format": "bare"}).json()["id"]
            assert c.put(f"/v2/images/{iid}/file", content=bytes(1 << 20), headers={
                "Content-Type": "application/octet-stream"}).status_code == 204
        yield admin, iid, admin.flavor(disk=1)["id"]


@pytest.mark.parametrize("counts", [{"min_count": 0}, {"min_count": 2.5}, {"max_count": 0},
                                    {"max_count": 2.5}, {"min_count": 3, "max_count": 2},
                                    {"min_count": True}, {"min_count": 2, "max_count": 2}])
def test_min_and_max_count_are_checked(cloud: tuple[ComputeApi, str, str],
                                       counts: dict[str, object]) -> None:
    admin, iid, flavor = cloud
    before = admin.get("/servers", params={"all_tenants": "1"}).json()["servers"]
    fault(admin.post("/servers", json={"server": {
        "name": unique("n"), "flavorRef": flavor, "imageRef": iid, **counts}}), 400,
        "badRequest")
    assert admin.get("/servers", params={"all_tenants": "1"}).json()["servers"] == before


def test_too_much_metadata_is_over_quota(cloud: tuple[ComputeApi, str, str]) -> None:
    admin, iid, flavor = cloud
    limit = admin.get("/limits").json()["limits"]["absolute"]["maxServerMeta"]
    before = admin.get("/servers", params={"all_tenants": "1"}).json()["servers"]
    fault(admin.post("/servers", json={"server": {
        "name": unique("n"), "flavorRef": flavor, "imageRef": iid,
        "metadata": {f"k{i}": "v" for i in range(limit + 1)}}}), 403, "forbidden")
    assert admin.get("/servers", params={"all_tenants": "1"}).json()["servers"] == before


def test_console_output_is_cut_as_nova_cuts_it(cloud: tuple[ComputeApi, str, str]) -> None:
    admin, iid, flavor = cloud
    sid = admin.post("/servers", json={"server": {
        "name": unique("c"), "flavorRef": flavor, "imageRef": iid}}).json()["server"]["id"]
    deadline = time.monotonic() + 60
    while admin.get(f"/servers/{sid}").json()["server"]["status"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    full = admin.post(f"/servers/{sid}/action", json={"os-getConsoleOutput": {}}).json()
    assert len(full["output"].split("\n")) > 3  # a boot says more than a line
    for length in (1, 3):
        cut = admin.post(f"/servers/{sid}/action", json={
            "os-getConsoleOutput": {"length": length}}).json()["output"]
        assert len(cut.split("\n")) == length and full["output"].endswith(cut)
    assert admin.delete(f"/servers/{sid}").status_code == 204


def test_update_and_rebuild_answer_novas_short_view(cloud: tuple[ComputeApi, str, str]) -> None:
    admin, iid, flavor_id = cloud
    sid = admin.post("/servers", json={"server": {
        "name": "s", "flavorRef": flavor_id, "imageRef": iid}}).json()["server"]["id"]

    def wait_active() -> dict[str, object]:
        deadline = time.monotonic() + 60
        while (server := admin.get(f"/servers/{sid}").json()["server"])[
                "status"] != "ACTIVE":
            assert time.monotonic() < deadline, server
            time.sleep(0.1)
        return server
    assert "OS-EXT-STS:vm_state" in wait_active()  # GET has the extended attributes

    updated = admin.put(f"/servers/{sid}", json={"server": {"name": "t"}}).json()["server"]
    assert updated["name"] == "t" and not [k for k in updated if k.startswith("OS-EXT")]
    assert "security_groups" not in updated and "key_name" not in updated

    resp = admin.post(f"/servers/{sid}/action", json={"rebuild": {"imageRef": iid}})
    assert resp.status_code == 202, resp.text
    rebuilt = resp.json()["server"]
    assert rebuilt["id"] == sid and rebuilt["adminPass"]
    assert rebuilt["image"]["id"] == iid and "OS-EXT-STS:task_state" not in rebuilt
    wait_active()
    # 2.54 adds key_name, 2.57 user_data, 2.71 server_groups; from 2.75 all GET shows
    rebuilt = admin.post(f"/servers/{sid}/action", version="2.75", json={
        "rebuild": {"imageRef": iid}}).json()["server"]
    assert rebuilt["server_groups"] == [] and rebuilt["user_data"] is None
    assert "key_name" in rebuilt and "OS-EXT-STS:task_state" in rebuilt
    wait_active()
    shown = admin.get(f"/servers/{sid}", version="2.71").json()["server"]
    assert shown["server_groups"] == []
    # a stopped server is rebuilt stopped, as Nova does
    assert admin.post(f"/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    deadline = time.monotonic() + 60
    while admin.get(f"/servers/{sid}").json()["server"]["status"] != "SHUTOFF":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    admin.post(f"/servers/{sid}/action", json={"rebuild": {"imageRef": iid}})
    deadline = time.monotonic() + 60
    while (server := admin.get(f"/servers/{sid}").json()["server"])["status"] == "REBUILD":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    assert admin.delete(f"/servers/{sid}").status_code == 204
