"""One cowcloud server for the compute API tests (no storage needed: hosts are registered
through the agents' channel as an agent would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server import RunningServer, new_account, run_server, settings_for, token_for

from .helpers import ComputeApi


@pytest.fixture(scope="package")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("compute-server")
    settings = settings_for(data)
    settings = settings.model_copy(update={"compute": settings.compute.model_copy(
        update={"local_agent": False})})
    with run_server(data, settings) as running:
        yield running


@pytest.fixture(scope="package")
def admin(srv: RunningServer) -> ComputeApi:
    return ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))


@pytest.fixture(scope="package")
def member(srv: RunningServer) -> tuple[ComputeApi, str, str, str, str]:
    """(api, user, password, project name, project id) of a project member."""
    a = new_account(srv)
    return ComputeApi(srv.url, a.token), a.name, a.password, a.project, a.project_id


@pytest.fixture
def clouds_yaml(srv: RunningServer, tmp_path: Path) -> Path:
    return srv.write_clouds_yaml(tmp_path / "clouds.yaml")
