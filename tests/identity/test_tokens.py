"""Tokens over HTTP: discovery, issue in every scope, validate, check, revoke, expiry, refusals."""

from __future__ import annotations

import stat
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from openstack.connection import Connection
from server import RunningServer, run_server, settings_for

from .conftest import Member, admin_body, issue, unique, validate

GENERIC_401 = {"error": {"code": 401, "title": "Unauthorized",
                         "message": "The request you have made requires authentication."}}
ADMIN_PROJECT = {"project": {"name": "admin", "domain": {"id": "default"}}}


def when(stamp: str) -> datetime:
    assert stamp.endswith("Z")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_version_discovery(srv: RunningServer, http: httpx.Client) -> None:
    for path in ("/identity", "/identity/"):
        resp = http.get(path)
        assert resp.status_code == 300
        (version,) = resp.json()["versions"]["values"]
        assert version["status"] == "stable" and version["id"].startswith("v3")
        assert version["links"] == [{"rel": "self", "href": f"{srv.url}/identity/v3/"}]
    for path in ("/identity/v3", "/identity/v3/"):
        resp = http.get(path)
        assert resp.status_code == 200
        assert resp.json()["version"]["media-types"][0]["type"] == \
            "application/vnd.openstack.identity-v3+json"


def test_project_scoped_token_body(srv: RunningServer, http: httpx.Client) -> None:
    resp = issue(http, admin_body(srv, {"project": {"name": "admin",
                                                    "domain": {"name": "Default"}}}))
    assert resp.status_code == 201, resp.text
    assert resp.headers["X-Subject-Token"]
    token = resp.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert {r["name"] for r in token["roles"]} == {"admin", "member", "reader"}
    assert all(r["id"] for r in token["roles"])
    assert len(token["audit_ids"]) == 1
    ttl = when(token["expires_at"]) - when(token["issued_at"])
    assert abs(ttl.total_seconds() - srv.settings.server.token_ttl_seconds) < 2
    services = {s["type"]: s for s in token["catalog"]}
    assert set(services) >= {"identity", "image"}
    for service in services.values():
        assert service["id"] and service["name"]
        for ep in service["endpoints"]:
            assert set(ep) == {"id", "interface", "region", "region_id", "url"}
            assert ep["region"] == ep["region_id"] == srv.settings.server.region
    assert services["identity"]["endpoints"][0]["url"] == f"{srv.url}/identity"


def test_scopes(srv: RunningServer, http: httpx.Client, admin: Connection,
                admin_token: str, make_member: Any) -> None:
    user_id = admin.identity.find_user("admin", ignore_missing=False).id
    project_id = admin.identity.find_project("admin", ignore_missing=False).id
    by_ids = issue(http, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user_id, "password": srv.admin_password}}},
        "scope": {"project": {"id": project_id}}}})
    assert by_ids.json()["token"]["project"]["id"] == project_id

    default = issue(http, admin_body(srv)).json()["token"]  # the user's default project
    assert default["project"]["id"] == project_id

    unscoped = issue(http, admin_body(srv, "unscoped")).json()["token"]
    assert "project" not in unscoped and "roles" not in unscoped and "catalog" not in unscoped

    no_catalog = http.post("/identity/v3/auth/tokens?nocatalog",
                           json=admin_body(srv, ADMIN_PROJECT)).json()["token"]
    assert no_catalog["project"]["id"] == project_id and "catalog" not in no_catalog

    # a domain scope needs a role on the domain
    domain_scope = {"domain": {"id": "default"}}
    assert issue(http, admin_body(srv, domain_scope)).json() == GENERIC_401
    role_id = admin.identity.find_role("admin", ignore_missing=False).id
    grant = f"/identity/v3/domains/default/users/{user_id}/roles/{role_id}"
    assert http.put(grant, headers={"X-Auth-Token": admin_token}).status_code == 204
    try:
        token = issue(http, admin_body(srv, {"domain": {"name": "Default"}})).json()["token"]
        assert token["domain"] == {"id": "default", "name": "Default"}
        assert "project" not in token and "admin" in {r["name"] for r in token["roles"]}
        assert token["catalog"]
    finally:
        assert http.delete(grant, headers={"X-Auth-Token": admin_token}).status_code == 204

    # a project the user holds no role on
    other: Member = make_member()
    refused = issue(http, admin_body(srv, {"project": {"id": other.project_id}}))
    assert refused.status_code == 401 and refused.json() == GENERIC_401


def test_validate_check_and_revoke(http: httpx.Client, admin_token: str,
                                   make_member: Any) -> None:
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    other = issue(http, make_member().password_auth()).headers["X-Subject-Token"]

    shown = validate(http, admin_token, token)
    assert shown.status_code == 200 and shown.headers["X-Subject-Token"] == token
    assert shown.json()["token"]["user"]["id"] == member.user_id
    assert {r["name"] for r in shown.json()["token"]["roles"]} == {"member", "reader"}
    assert validate(http, token, token).status_code == 200  # its own token
    assert validate(http, token, other).status_code == 403  # someone else's
    head = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert http.head("/identity/v3/auth/tokens", headers=head).status_code == 200

    assert http.delete("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": other}).status_code == 403
    assert http.delete("/identity/v3/auth/tokens", headers=head).status_code == 204
    assert validate(http, admin_token, token).status_code == 404
    assert http.head("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": admin_token, "X-Subject-Token": token}).status_code == 404
    refused = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token})
    assert refused.status_code == 401 and refused.json() == GENERIC_401
    assert validate(http, admin_token, other).status_code == 200  # only that one is revoked


def test_wrong_password_and_unknown_user_look_alike(srv: RunningServer,
                                                    http: httpx.Client) -> None:
    def attempt(body: dict[str, Any]) -> tuple[httpx.Response, float]:
        start = time.perf_counter()
        resp = issue(http, body)
        return resp, time.perf_counter() - start

    unknown_user = admin_body(srv, password="whatever")
    unknown_user["auth"]["identity"]["password"]["user"]["name"] = unique("nobody")
    unknown_domain = admin_body(srv)
    unknown_domain["auth"]["identity"]["password"]["user"]["domain"] = {"name": "Nowhere"}
    wrong, unknown = [], []
    for _ in range(3):
        wrong.append(attempt(admin_body(srv, password="wrong password")))
        unknown.append(attempt(unknown_user))
    unknown.append(attempt(unknown_domain))
    for resp, _ in wrong + unknown:
        assert resp.status_code == 401
        assert resp.json() == GENERIC_401
        assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{srv.url}/identity"'
    # an unknown user is hashed against a dummy: not answered in a fraction of the time
    assert statistics.median(t for _, t in unknown) > 0.3 * statistics.median(t for _, t in wrong)


def test_disabled_user_and_project_are_refused(http: httpx.Client, admin: Connection,
                                               admin_token: str, make_member: Any) -> None:
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    admin.identity.update_user(member.user_id, enabled=False)
    refused = issue(http, member.password_auth())
    assert refused.status_code == 401 and refused.json() == GENERIC_401
    assert validate(http, admin_token, token).status_code == 404
    admin.identity.update_user(member.user_id, enabled=True)
    assert validate(http, admin_token, token).status_code == 200

    admin.identity.update_project(member.project_id, enabled=False)
    refused = issue(http, member.password_auth({"project": {"id": member.project_id}}))
    assert refused.status_code == 401 and refused.json() == GENERIC_401
    assert validate(http, admin_token, token).status_code == 404


def test_missing_and_bad_tokens(http: httpx.Client, admin_token: str) -> None:
    for headers in ({}, {"X-Auth-Token": "garbage"}, {"X-Auth-Token": admin_token[:-4] + "AAAA"}):
        resp = http.get("/identity/v3/auth/projects", headers=headers)
        assert resp.status_code == 401 and resp.json() == GENERIC_401
    assert validate(http, admin_token, "garbage").status_code == 404
    bad = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {}}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 400


def test_expired_token_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings = settings.model_copy(update={"server": settings.server.model_copy(
        update={"token_ttl_seconds": 2})})  # below the configurable minimum, for the test only
    with run_server(tmp_path, settings) as short, httpx.Client(base_url=short.url) as http:
        resp = issue(http, admin_body(short))
        token, body = resp.headers["X-Subject-Token"], resp.json()["token"]
        assert (when(body["expires_at"]) - when(body["issued_at"])).total_seconds() <= 2
        assert validate(http, token, token).status_code == 200
        time.sleep(max(0.0, (when(body["expires_at"]) - datetime.now(
            when(body["expires_at"]).tzinfo)).total_seconds()) + 0.2)
        refused = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token})
        assert refused.status_code == 401 and refused.json() == GENERIC_401
        fresh = issue(http, admin_body(short)).headers["X-Subject-Token"]
        assert validate(http, fresh, token).status_code == 404


def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    with run_server(tmp_path) as first, httpx.Client(base_url=first.url) as http:
        token = issue(http, admin_body(first)).headers["X-Subject-Token"]
    keys = tmp_path / "fernet-keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in keys.iterdir()] == [0o600]
    with run_server(tmp_path) as second, httpx.Client(base_url=second.url) as http:
        assert validate(http, token, token).status_code == 200


def test_invalid_subject_token_is_404_before_the_policy(http: httpx.Client, admin_token: str,
                                                         make_member: Any) -> None:
    """Keystone validates the X-Subject-Token before enforcing the rule (whose target is that
    token's user): a revoked or garbled one is TokenNotFound for its own user too, not 403."""
    member: Member = make_member()
    caller = issue(http, member.password_auth()).headers["X-Subject-Token"]
    revoked = issue(http, member.password_auth()).headers["X-Subject-Token"]
    url = "/identity/v3/auth/tokens"
    assert http.delete(url, headers={"X-Auth-Token": caller,
                                     "X-Subject-Token": revoked}).status_code == 204
    for who in (caller, admin_token):
        for subject in (revoked, "garbage"):
            headers = {"X-Auth-Token": who, "X-Subject-Token": subject}
            shown = http.get(url, headers=headers)
            assert shown.status_code == 404, shown.text
            assert shown.json()["error"]["code"] == 404
            assert shown.json()["error"]["title"] == "Not Found"
            assert shown.json()["error"]["message"].startswith("Could not find token: ")
            assert http.head(url, headers=headers).status_code == 404
            assert http.delete(url, headers=headers).status_code == 404
    # a valid token of someone else is still refused by the rule
    other = issue(http, make_member().password_auth()).headers["X-Subject-Token"]
    assert validate(http, caller, other).status_code == 403
    assert validate(http, caller, caller).status_code == 200
