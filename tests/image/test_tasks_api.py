"""The tasks API (/v2/tasks): listing and showing image tasks (admins only, as Glance's
tasks_api_access), and Glance's legacy `import` task, driven with the real glance and openstack
command lines."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, openstack_json

from cowcloud.config import Settings

from .helpers import Api, glance, leftovers, md5, pattern, unique


def _legacy(url: str, **props: Any) -> dict[str, Any]:
    return {"type": "import", "input": {
        "import_from": url, "import_from_format": "raw",
        "image_properties": {"name": unique("task"), "disk_format": "raw",
                             "container_format": "bare", **props}}}


def test_legacy_import_task_creates_the_image(local_admin: Api, local_settings: Settings,
                                              web: tuple[str, Path]) -> None:
    data = pattern(3 << 20, seed=31)
    (web[1] / "task.raw").write_bytes(data)
    body = _legacy(f"{web[0]}/task.raw", visibility="public")
    resp = local_admin.post("/v2/tasks", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["type"] == "import" and created["status"] in ("pending", "processing")
    assert created["input"] == body["input"] and resp.headers["location"].endswith(created["id"])
    task = local_admin.wait_task(created["id"])
    assert task["status"] == "success", task
    iid = task["result"]["image_id"]
    image = local_admin.image(iid)
    assert image["status"] == "active" and image["visibility"] == "public"
    assert image["name"] == body["input"]["image_properties"]["name"]
    assert image["checksum"] == md5(data) and image["stores"] == "central"
    local_admin.delete(f"/v2/images/{iid}")
    assert leftovers(local_settings, iid) == {}


def test_failed_legacy_import_leaves_no_image(local_admin: Api, local_settings: Settings,
                                              web: tuple[str, Path]) -> None:
    created = local_admin.post("/v2/tasks", json=_legacy(f"{web[0]}/missing.raw")).json()
    task = local_admin.wait_task(created["id"])
    assert task["status"] == "failure" and task["message"], task
    iid = task["image_id"]
    assert local_admin.get(f"/v2/images/{iid}").status_code == 404
    assert leftovers(local_settings, iid) == {}


@pytest.mark.parametrize("body", [
    None, [], {"type": "import"}, {"type": "export", "input": {}},
    {"type": "import", "input": {"import_from": "http://x/", "image_properties": {}}},
    _legacy("ftp://127.0.0.1/image.raw"),  # scheme refused by the web-download filter
    _legacy("http://no-such-host.invalid/image.raw"),  # tempest: newer Glance refuses at once
    _legacy("http://127.0.0.1/x", disk_format="floppy"),  # image properties checked too
    {**_legacy("http://127.0.0.1/x"), "status": "success"},
])
def test_bad_task_requests_are_400_and_create_nothing(local_admin: Api, body: Any) -> None:
    before = local_admin.get("/v2/tasks", params={"limit": 1000}).json()["tasks"]
    resp = local_admin.post("/v2/tasks", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "400 Bad Request" and resp.json()["message"]
    assert local_admin.get("/v2/tasks", params={"limit": 1000}).json()["tasks"] == before


def test_tasks_api_is_for_admins(local_alice) -> None:
    assert local_alice.api.get("/v2/tasks").status_code == 403
    assert local_alice.api.get(f"/v2/tasks/{uuid.uuid4()}").status_code == 403
    assert local_alice.api.post("/v2/tasks", json=_legacy("http://127.0.0.1/x")).status_code == 403


def test_list_filter_page_and_show(local_admin: Api) -> None:
    # two api_image_import tasks of copy-images, one legacy task that fails
    ids = []
    for _ in range(2):
        iid = local_admin.create()["id"]
        assert local_admin.upload(iid, pattern(1 << 20)).status_code == 204
        resp = local_admin.post(f"/v2/images/{iid}/import", json={
            "method": {"name": "copy-image"}, "stores": ["central-b"]})
        assert resp.status_code == 202
        ids.append(local_admin.wait_tasks(iid)[0]["id"])
    listed = local_admin.get("/v2/tasks", params={"type": "api_image_import", "limit": 1000}).json()
    assert {t["id"] for t in listed["tasks"]} >= set(ids)
    assert listed["schema"] == "/v2/schemas/tasks"
    assert all(t["type"] == "api_image_import" and "input" not in t for t in listed["tasks"])
    page = local_admin.get("/v2/tasks", params={"limit": 1, "sort_dir": "asc"}).json()
    assert len(page["tasks"]) == 1 and "marker=" in page["next"]
    nxt = local_admin.get(page["next"]).json()
    assert nxt["tasks"][0]["id"] != page["tasks"][0]["id"]
    shown = local_admin.get(f"/v2/tasks/{ids[0]}").json()
    assert shown["status"] == "success" and shown["input"]["import_req"]["stores"] == ["central-b"]
    assert local_admin.get(f"/v2/tasks/{uuid.uuid4()}").status_code == 404
    assert local_admin.get("/v2/tasks", params={"sort_key": "size"}).status_code == 400
    assert local_admin.get("/v2/tasks", params={"marker": str(uuid.uuid4())}).status_code == 400
    assert local_admin.get("/v2/schemas/task").json()["name"] == "task"


def test_task_commands_of_the_clients(local_srv: RunningServer, local_admin: Api, tmp_path: Path,
                                      web: tuple[str, Path]) -> None:
    (web[1] / "cli.raw").write_bytes(pattern(1 << 20, seed=32))
    body = _legacy(f"{web[0]}/cli.raw")
    res = glance(local_srv.url, "admin", local_srv.admin_password, "admin", "task-create", "--type",
                 "import", "--input", json.dumps(body["input"]))
    task_id = next(line.split("|")[2].strip() for line in res.stdout.splitlines()
                   if line.startswith("| id "))
    assert local_admin.wait_task(task_id)["status"] == "success"
    shown = glance(local_srv.url, "admin", local_srv.admin_password, "admin", "task-show", task_id)
    assert "success" in shown.stdout
    clouds = local_srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    listed = openstack_json(clouds, "image", "task", "list", "--type", "import")
    assert task_id in {t["ID"] for t in listed}
    task = openstack_json(clouds, "image", "task", "show", task_id)
    assert task["status"] == "success"
    local_admin.delete(f"/v2/images/{task['result']['image_id']}")
