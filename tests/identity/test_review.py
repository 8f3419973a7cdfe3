"""Review findings: request bodies with odd types that used to reach the database (500s before
authentication even ran), and application credential flags taken by truthiness."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Member, issue


def _pw(user: Any, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def _error(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.json()["error"]["code"] == status


@pytest.mark.parametrize("user", [
    {"id": {"a": 1}, "password": "p"}, {"id": "a\x00b", "password": "p"},
    {"name": {"a": 1}, "domain": {"id": "default"}, "password": "p"},
    {"name": "x", "domain": "default", "password": "p"},
    {"name": "x", "domain": {"name": ["Default"]}, "password": "p"},
    {"name": "x" * 300, "domain": {"id": "default"}, "password": "p"}])
def test_odd_user_references_are_401(srv: Any, user: Any) -> None:
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        _error(issue(http, _pw(user)), 401)


def test_odd_scopes_are_refused_cleanly(srv: Any, make_member: Any) -> None:
    m: Member = make_member()
    user = {"name": m.name, "domain": {"id": "default"}, "password": m.password}
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        for scope in ({"project": {"name": {"x": 1}, "domain": {"id": "default"}}},
                      {"project": {"id": {"x": 1}}}, {"domain": "default"},
                      {"domain": {"id": ["default"]}}):
            _error(issue(http, _pw(user, scope)), 401)
        for cred in ({"name": {"x": 1}, "user": {"id": m.user_id}, "secret": "s"},
                     {"id": {"x": 1}, "secret": "s"}):
            body = {"auth": {"identity": {"methods": ["application_credential"],
                                          "application_credential": cred}}}
            _error(issue(http, body), 401)
        assert issue(http, _pw(user)).status_code == 201


def test_application_credential_fields_are_typed(srv: Any, make_member: Any) -> None:
    m: Member = make_member()
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        token = issue(http, m.password_auth()).headers["X-Subject-Token"]
        url = f"/identity/v3/users/{m.user_id}/application_credentials"
        for body in ({"name": "a", "unrestricted": "false"}, {"name": "b", "description": ["x"]},
                     {"name": "c", "secret": 5}, {"name": {"x": 1}}, {"name": "n" * 256},
                     {"name": "d\x00"}):
            resp = http.post(url, json={"application_credential": body},
                             headers={"X-Auth-Token": token})
            _error(resp, 400)
        listed = http.get(url, headers={"X-Auth-Token": token}).json()
        assert listed["application_credentials"] == []  # nothing made, none unrestricted
        resp = http.post(url, json={"application_credential": {"name": "ok",
                                                               "unrestricted": False}},
                         headers={"X-Auth-Token": token})
        assert resp.status_code == 201 and resp.json()["application_credential"][
            "unrestricted"] is False


def test_admin_resource_fields_are_typed(srv: Any, admin_token: str, make_member: Any) -> None:
    m: Member = make_member()
    h = {"X-Auth-Token": admin_token}
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        for body in ({"name": "zz-pw", "password": 5}, {"name": "zz-en", "enabled": "no"},
                     {"name": "zz-dom", "domain_id": ["default"]}):
            _error(http.post("/identity/v3/users", json={"user": body}, headers=h), 400)
        assert http.get("/identity/v3/users?name=zz-en", headers=h).json()["users"] == []
        _error(http.patch(f"/identity/v3/users/{m.user_id}",
                          json={"user": {"enabled": "false"}}, headers=h), 400)
        assert http.get(f"/identity/v3/users/{m.user_id}", headers=h).json()["user"]["enabled"]
        _error(http.post("/identity/v3/projects", json={"project": {"name": "zz-p",
                                                                    "enabled": "no"}},
                         headers=h), 400)


def test_restricted_application_credential_cannot_delete_others(srv: Any,
                                                                 make_member: Any) -> None:
    m: Member = make_member()
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        token = issue(http, m.password_auth()).headers["X-Subject-Token"]
        url = f"/identity/v3/users/{m.user_id}/application_credentials"
        made = {}
        for name in ("ci", "deploy"):
            resp = http.post(url, json={"application_credential": {"name": name}},
                             headers={"X-Auth-Token": token})
            assert resp.status_code == 201, resp.text
            made[name] = resp.json()["application_credential"]
        body = {"auth": {"identity": {"methods": ["application_credential"],
                                      "application_credential": {
                                          "id": made["ci"]["id"], "secret": made["ci"]["secret"]}}}}
        ci_token = issue(http, body).headers["X-Subject-Token"]
        resp = http.delete(f"{url}/{made['deploy']['id']}", headers={"X-Auth-Token": ci_token})
        _error(resp, 403)
        assert http.get(f"{url}/{made['deploy']['id']}",
                        headers={"X-Auth-Token": token}).status_code == 200
        assert http.delete(f"{url}/{made['deploy']['id']}",
                           headers={"X-Auth-Token": token}).status_code == 204
