"""Application credentials through openstacksdk: create, list, show, authenticate, delete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from server import RunningServer

from .conftest import Member, connect, issue, validate


def app_cred_entry(srv: RunningServer, **auth: Any) -> dict[str, Any]:
    return {"auth_type": "v3applicationcredential", "auth": {"auth_url": srv.auth_url, **auth},
            "region_name": srv.settings.server.region, "identity_api_version": 3}


def test_application_credential_lifecycle(srv: RunningServer, http: httpx.Client,
                                          admin_token: str, make_member: Any) -> None:
    member: Member = make_member()
    conn = connect(member.entry)
    cred = conn.identity.create_application_credential(
        user=member.user_id, name="ci", description="for the pipeline",
        roles=[{"name": "reader"}])
    assert cred.secret and cred.project_id == member.project_id
    assert [r["name"] for r in cred.roles] == ["reader"]

    listed = list(conn.identity.application_credentials(user=member.user_id))
    assert [c.id for c in listed] == [cred.id] and listed[0].secret is None
    shown = conn.identity.get_application_credential(user=member.user_id,
                                                     application_credential=cred.id)
    assert shown.name == "ci" and shown.description == "for the pipeline"

    by_id = connect(app_cred_entry(srv, application_credential_id=cred.id,
                                   application_credential_secret=cred.secret))
    token = by_id.session.get_token()
    body = validate(http, admin_token, token).json()["token"]
    assert body["methods"] == ["application_credential"]
    assert body["project"]["id"] == member.project_id
    assert body["application_credential"] == {"id": cred.id, "name": "ci", "restricted": True}
    assert {r["name"] for r in body["roles"]} == {"reader"}  # only what was delegated

    by_name = connect(app_cred_entry(srv, application_credential_name="ci",
                                     application_credential_secret=cred.secret,
                                     username=member.name, user_domain_id="default"))
    assert by_name.session.get_token()

    # a restricted credential cannot mint another one
    with pytest.raises(sdk_exc.ForbiddenException):
        by_id.identity.create_application_credential(user=member.user_id, name="escalate")

    wrong = issue(http, {"auth": {"identity": {"methods": ["application_credential"],
                                               "application_credential": {
                                                   "id": cred.id, "secret": "wrong"}}}})
    assert wrong.status_code == 401

    conn.identity.delete_application_credential(user=member.user_id, application_credential=cred.id)
    assert validate(http, admin_token, token).status_code == 404  # its tokens die with it
    with pytest.raises(ks_exc.Unauthorized):
        connect(app_cred_entry(srv, application_credential_id=cred.id,
                               application_credential_secret=cred.secret)).session.get_token()


def test_application_credentials_are_their_users(srv: RunningServer, make_member: Any) -> None:
    owner: Member = make_member()
    other: Member = make_member()
    cred = connect(owner.entry).identity.create_application_credential(
        user=owner.user_id, name="mine")
    with pytest.raises(sdk_exc.ForbiddenException):
        list(connect(other.entry).identity.application_credentials(user=owner.user_id))
    admin = connect(srv.cloud())
    assert [c.id for c in admin.identity.application_credentials(user=owner.user_id)] == [cred.id]
    with pytest.raises(sdk_exc.ForbiddenException):  # not even admin creates one for another
        admin.identity.create_application_credential(user=owner.user_id, name="theirs")


def test_expires_at_comes_back_as_sent(srv: RunningServer, http: httpx.Client,
                                       make_member: Any) -> None:
    """Keystone renders expires_at as naive UTC with microseconds (api-ref: "...:59.000000"),
    so tempest's utcnow().isoformat() comes back equal; a zoned time comes back in UTC."""
    member: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    auth = {"X-Auth-Token": token}
    url = f"/identity/v3/users/{member.user_id}/application_credentials"
    naive = (datetime.now(timezone.utc) + timedelta(days=3)).replace(tzinfo=None).isoformat()
    assert "." in naive  # microseconds, as tempest sends them
    for name, sent, shown in (("naive", naive, naive),
                              ("zoned", "2100-01-02T03:04:05+02:00", "2100-01-02T01:04:05.000000"),
                              ("zulu", "2100-01-02T03:04:05Z", "2100-01-02T03:04:05.000000")):
        made = http.post(url, headers=auth, json={"application_credential": {
            "name": name, "expires_at": sent}})
        assert made.status_code == 201, made.text
        cred = made.json()["application_credential"]
        assert cred["expires_at"] == shown
        got = http.get(f"{url}/{cred['id']}", headers=auth).json()["application_credential"]
        assert got["expires_at"] == shown
    listed = http.get(url, headers=auth).json()["application_credentials"]
    assert {c["name"]: c["expires_at"] for c in listed}["naive"] == naive
    never = http.post(url, headers=auth, json={"application_credential": {"name": "forever"}})
    assert never.json()["application_credential"]["expires_at"] is None


def test_access_rules_are_refused_not_dropped(srv: RunningServer, http: httpx.Client,
                                              admin_token: str, make_member: Any) -> None:
    """A credential asked to be limited to some calls must not be made an unlimited one."""
    member: Member = make_member()
    other: Member = make_member()
    token = issue(http, member.password_auth()).headers["X-Subject-Token"]
    auth = {"X-Auth-Token": token}
    url = f"/identity/v3/users/{member.user_id}/application_credentials"
    rules = [{"service": "image", "method": "GET", "path": "/v2/images"}]
    for value in (rules, "GET /v2/images", {"service": "image"}):
        refused = http.post(url, headers=auth, json={"application_credential": {
            "name": "limited", "access_rules": value}})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == 400
    assert "access rules are not supported" in http.post(url, headers=auth, json={
        "application_credential": {"name": "limited", "access_rules": rules},
    }).json()["error"]["message"]
    assert http.get(url, headers=auth).json()["application_credentials"] == []
    made = http.post(url, headers=auth, json={"application_credential": {
        "name": "plain", "access_rules": []}})
    assert made.status_code == 201 and made.json()["application_credential"][
        "access_rules"] == []

    rules_url = f"/identity/v3/users/{member.user_id}/access_rules"
    listed = http.get(rules_url, headers=auth)
    assert listed.status_code == 200 and listed.json()["access_rules"] == []
    assert http.get(rules_url, headers={"X-Auth-Token": admin_token}).status_code == 200
    other_token = issue(http, other.password_auth()).headers["X-Subject-Token"]
    assert http.get(rules_url, headers={"X-Auth-Token": other_token}).status_code == 403
