"""`[image] show_locations`: who sees direct_url and locations. They name each cluster's fsid and
pool (OSSN-0065), so by default only admins do; "all" shows them to every user, as the DCN
guide's `openstack image show` does; "none" to nobody. `stores` is shown whatever the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server import new_account, run_server

from cowcloud.config import embedded_default

from .helpers import Api, token_for


def _member(srv: Any) -> Api:
    a = new_account(srv)
    return Api(srv.url, a.token, a.project_id)


@pytest.mark.parametrize("setting, admin_sees, member_sees", [
    (None, True, False),  # the default
    ("all", True, True),
    ("none", False, False),
])
def test_who_sees_locations(tmp_path: Path, setting: str | None, admin_sees: bool,
                            member_sees: bool) -> None:
    settings = embedded_default(tmp_path)
    if setting:
        settings = settings.model_copy(update={"image": settings.image.model_copy(
            update={"show_locations": setting})})
    with run_server(tmp_path, settings) as srv:
        admin = Api(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        member = _member(srv)
        iid = member.create(visibility="shared")["id"]
        assert member.upload(iid, b"x" * 4096).status_code == 204
        for api, sees in ((admin, admin_sees), (member, member_sees)):
            shown = api.image(iid)
            listed = next(i for i in api.get("/v2/images").json()["images"] if i["id"] == iid)
            for image in (shown, listed):
                assert image["stores"] == "local"
                assert ("direct_url" in image, "locations" in image) == (sees, sees), image
                if sees:
                    assert image["locations"] == [{"url": image["direct_url"],
                                                   "metadata": {"store": "local"}}]
