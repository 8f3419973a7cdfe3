"""The edge every API shares: request ids, /healthz, /metrics, and get_context for other APIs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import APIRouter, Depends
from server import run_server

from cowcloud.api.auth import get_context
from cowcloud.services.context import RequestContext
from cowcloud.services.policy import enforce

from .conftest import admin_body, issue

REQUEST_ID = re.compile(r"^req-[0-9a-f-]{36}$")


def test_healthz_metrics_and_request_ids(http: httpx.Client) -> None:
    health = http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    refused = http.get("/identity/v3/auth/projects")
    assert refused.status_code == 401
    ids = {r.headers["X-Openstack-Request-Id"] for r in (health, refused)}
    assert len(ids) == 2 and all(REQUEST_ID.match(i) for i in ids)

    metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert re.search(r'cowcloud_http_requests_total\{method="GET",route="/healthz",'
                     r'status="200"\} [1-9]', metrics.text)
    assert "cowcloud_http_request_seconds_bucket" in metrics.text


probe = APIRouter()


@probe.get("/image/v2/probe")
def whoami(ctx: RequestContext = Depends(get_context)) -> dict[str, object]:
    return {"user": ctx.user_name, "project": ctx.project_name, "roles": sorted(ctx.roles)}


@probe.get("/image/v2/probe/stores")
def admin_only(ctx: RequestContext = Depends(get_context)) -> dict[str, object]:
    enforce(ctx, "image:info_stores_detail")
    return {}


def test_get_context_for_another_service(tmp_path: Path) -> None:
    with run_server(tmp_path, routers=[probe]) as srv, httpx.Client(
            base_url=srv.url, headers={"Accept": "application/json"}) as http:
        missing = http.get("/image/v2/probe")
        assert missing.status_code == 401
        # keystonemiddleware answers it in front of Glance: Keystone's shape
        assert missing.json()["error"]["code"] == 401
        token = issue(http, admin_body(srv)).headers["X-Subject-Token"]
        seen = http.get("/image/v2/probe", headers={"X-Auth-Token": token}).json()
        assert seen == {"user": "admin", "project": "admin",
                        "roles": ["admin", "member", "reader"]}
        assert http.get("/image/v2/probe/stores", headers={"X-Auth-Token": token}).json() == {}

        auth = {"X-Auth-Token": token}
        project = http.post("/identity/v3/projects", headers=auth,
                            json={"project": {"name": "p1"}}).json()["project"]
        user = http.post("/identity/v3/users", headers=auth,
                         json={"user": {"name": "m1", "password": "pw",
                                        "default_project_id": project["id"]}}).json()["user"]
        roles = http.get("/identity/v3/roles?name=member", headers=auth).json()["roles"]
        http.put(f"/identity/v3/projects/{project['id']}/users/{user['id']}/roles/"
                 f"{roles[0]['id']}", headers=auth)
        member_token = issue(http, {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"id": user["id"], "password": "pw"}}}}}).headers["X-Subject-Token"]
        denied = http.get("/image/v2/probe/stores", headers={"X-Auth-Token": member_token})
        assert denied.status_code == 403
        assert denied.json()["code"] == "403 Forbidden"
        assert "image:info_stores_detail" in denied.json()["message"]


crash = APIRouter()


@crash.get("/image/v2/crash")
def image_bug() -> None:
    raise RuntimeError("secret internals")


@crash.get("/identity/v3/crash")
def identity_bug() -> None:
    raise RuntimeError("secret internals")


def test_a_bug_is_a_500_in_the_service_shape(tmp_path: Path) -> None:
    with run_server(tmp_path, routers=[crash]) as srv, httpx.Client(
            base_url=srv.url, headers={"Accept": "application/json"}) as http:
        image = http.get("/image/v2/crash")
        rid = image.headers["X-Openstack-Request-Id"]
        assert image.status_code == 500 and image.json()["code"] == "500 Internal Server Error"
        assert rid in image.json()["message"] and "secret" not in image.text
        identity = http.get("/identity/v3/crash")
        assert identity.status_code == 500 and identity.json()["error"]["code"] == 500
        assert "secret" not in identity.text
