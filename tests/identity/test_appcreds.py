"""Application credentials through openstacksdk: create, list, show, authenticate, delete."""

from __future__ import annotations

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
