"""The configuration file: the embedded default, what a partial file keeps, errors that name the
key, and what the image API answers when a file configures no image store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from server import VENV_BIN, run_server

from cowcloud.config import ConfigError, embedded_default, load


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cowcloud.toml"
    path.write_text(text)
    return path


def test_embedded_default_is_one_local_cluster(tmp_path: Path) -> None:
    s = embedded_default(tmp_path)
    assert list(s.clusters) == ["local"] and s.clusters["local"].kind == "local"
    assert {s.default_of(x) for x in ("image_stores", "volume_backends", "ephemeral_backends",
                                      "backup_targets")} == {"local"}
    assert s.server.data_dir == tmp_path


def test_a_file_without_storage_keeps_the_embedded_storage(tmp_path: Path) -> None:
    s = load(_write(tmp_path, f'[server]\nport = 8081\ndata_dir = "{tmp_path}"\n'
                              '[image]\nsize_cap = 1000\n'))
    assert s.server.port == 8081 and s.image.size_cap == 1000
    assert list(s.clusters) == ["local"] and list(s.image_stores) == ["local"]


def test_a_file_with_storage_is_taken_as_written(tmp_path: Path) -> None:
    s = load(_write(tmp_path, '[sites.a]\n[clusters.c]\nkind = "local"\nsite = "a"\n'
                              '[image_stores.fast]\ncluster = "c"\npool = "img"\n'))
    assert list(s.image_stores) == ["fast"] and s.volume_backends == {}


@pytest.mark.parametrize("text, key", [
    ('[clusters.c]\nkind = "local"\nsite = "nowhere"\n', "clusters.c.site"),
    ('[sites.a]\n[image_stores.x]\ncluster = "missing"\npool = "p"\n', "image_stores.x.cluster"),
    ('[server]\nport = 70000\n', "server.port"),
    ('[server]\nprot = 1\n', "server.prot"),
    ('[server\n', "not valid TOML"),
])
def test_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path)
    res = subprocess.run([str(VENV_BIN / "cowcloud"), "config", "check", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    # config check reports on stdout, so its output can be piped and grepped
    assert res.returncode == 2 and key in res.stdout.replace("\n", ""), res.stdout


@pytest.mark.parametrize("text, hint", [
    ("[image]\nshow_image_direct_url = true\n", "[image] show_locations"),
    ("[image]\nshow_multiple_locations = true\n", "[image] show_locations"),
    ("[image]\nimage_size_cap = 1000\n", "[image] size_cap"),
    ("show_image_direct_url = true\n", "[image] show_locations"),
    ('[sites.a]\n[clusters.c]\nkind = "local"\nsite = "a"\n'
     '[image_stores.s]\ncluster = "c"\nrbd_store_pool = "images"\n', "pool in [image_stores"),
    ('[glance_store]\ndefault_backend = "central"\n', "[image_stores.NAME] over [clusters"),
])
def test_glance_option_names_say_what_cowcloud_calls_them(tmp_path: Path, text: str,
                                                          hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text))
    assert "Extra inputs are not permitted (Glance's " in str(err.value)
    assert f"cowcloud calls it {hint}" in str(err.value)


@pytest.mark.parametrize("text, value", [
    ("", "admin"),  # Glance shows neither direct_url nor locations by default (OSSN-0065)
    ('show_locations = "all"\n', "all"),
    ('show_locations = "none"\n', "none"),
    ("show_locations = true\n", "all"),  # the old boolean keeps its meaning
    ("show_locations = false\n", "none"),
])
def test_show_locations(tmp_path: Path, text: str, value: str) -> None:
    image = load(_write(tmp_path, f"[image]\n{text}")).image
    assert image.show_locations == value
    assert [image.locations_visible(is_admin) for is_admin in (True, False)] == {
        "admin": [True, False], "all": [True, True], "none": [False, False]}[value]


def test_show_locations_names_its_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"image\.show_locations: Input should be 'admin', "
                                          r"'all' or 'none'"):
        load(_write(tmp_path, '[image]\nshow_locations = "members"\n'))


def test_no_image_store_is_a_503_not_a_crash(tmp_path: Path) -> None:
    """A server with identity only (settings built without storage): image data has nowhere to
    go, and says so in Glance's error shape."""
    with run_server(tmp_path) as srv, httpx.Client(
            base_url=f"{srv.url}/image", headers={"Accept": "application/json"}) as http:
        token = httpx.post(f"{srv.auth_url}/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": srv.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        ).headers["X-Subject-Token"]
        http.headers["X-Auth-Token"] = token
        iid = http.post("/v2/images", json={"disk_format": "raw",
                                            "container_format": "bare"}).json()["id"]
        for method, path in (("PUT", f"/v2/images/{iid}/file"), ("PUT", f"/v2/images/{iid}/stage")):
            resp = http.request(method, path, content=b"x" * 1024,
                                headers={"Content-Type": "application/octet-stream"})
            assert resp.status_code == 503, resp.text
            assert "No image store is configured" in resp.json()["message"]
        assert http.get(f"/v2/images/{iid}").json()["status"] == "queued"
