"""Several clients logging in, validating and revoking at once against SQLite: no 'database is
locked' (Keystone on SQLite fails this), no error of any kind."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from server import RunningServer

from .conftest import Member, admin_body, issue, validate

CLIENTS = 4
ROUNDS = 6


def test_parallel_logins_validations_and_revocations(
        srv: RunningServer, make_member: Any, admin_token: str,
        caplog: pytest.LogCaptureFixture) -> None:
    members: list[Member] = [make_member() for _ in range(CLIENTS - 1)]
    bodies = [admin_body(srv)] + [m.password_auth() for m in members]

    def client(body: dict[str, Any]) -> list[int]:
        statuses = []
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            for _ in range(ROUNDS):
                resp = issue(http, body)
                statuses.append(resp.status_code)
                token = resp.headers["X-Subject-Token"]
                statuses.append(validate(http, token, token).status_code)
                statuses.append(validate(http, admin_token, token).status_code)
                statuses.append(http.get("/identity/v3/auth/projects",
                                         headers={"X-Auth-Token": token}).status_code)
                statuses.append(http.delete("/identity/v3/auth/tokens", headers={
                    "X-Auth-Token": token, "X-Subject-Token": token}).status_code)
        return statuses

    with caplog.at_level(logging.WARNING), ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, bodies))
    assert all(r == [201, 200, 200, 200, 204] * ROUNDS for r in results), results
    assert "database is locked" not in caplog.text
