"""`cowcloud image upload | download | copy`: images over the Image API, with progress bars.

For users without the OpenStack client at hand. It talks HTTP (httpx) to a running cowcloud,
authenticated with an entry of clouds.yaml (`cowcloud` by default, or --os-cloud / $OS_CLOUD),
found where openstacksdk looks for it ($OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml). Files are streamed, never read
whole; uploads and downloads are verified against the hashes the server computed.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import httpx
import typer
import yaml
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..errors import Error
from ..storage import formats
from .options import console

image_app = typer.Typer(help="Upload, download and copy images (with progress bars).",
                        no_args_is_help=True)
CHUNK = 4 << 20
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
CloudOpt = Annotated[Optional[str], typer.Option(
    "--os-cloud", envvar="OS_CLOUD", help="clouds.yaml entry (default: cowcloud)")]


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")


class CliError(Error):
    """What the image commands tell the user instead of a traceback."""


# ------------------------------------------------------------------------ clouds.yaml and auth

def _clouds_files() -> list[Path]:
    env = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if env:
        return [Path(env)]
    return [Path.cwd() / "clouds.yaml", Path.home() / ".config/openstack/clouds.yaml",
            Path("/etc/openstack/clouds.yaml")]


def cloud_entry(name: str) -> dict[str, Any]:
    for path in _clouds_files():
        if path.is_file():
            clouds = (yaml.safe_load(path.read_text()) or {}).get("clouds", {})
            if name in clouds:
                return dict(clouds[name])
    raise CliError(f"no cloud named {name!r} in {', '.join(map(str, _clouds_files()))}")


def _auth_body(auth: dict[str, Any], auth_type: str | None) -> dict[str, Any]:
    if auth_type == "v3applicationcredential" or "application_credential_secret" in auth:
        cred: dict[str, Any] = {"secret": auth["application_credential_secret"]}
        if "application_credential_id" in auth:
            cred["id"] = auth["application_credential_id"]
        else:
            cred.update(name=auth["application_credential_name"],
                        user={"name": auth["username"],
                              "domain": {"name": auth.get("user_domain_name", "Default")}})
        return {"auth": {"identity": {"methods": ["application_credential"],
                                      "application_credential": cred}}}
    user: dict[str, Any] = {"password": auth["password"]}
    if "user_id" in auth:
        user["id"] = auth["user_id"]
    else:
        user.update(name=auth["username"],
                    domain={"id": auth["user_domain_id"]} if "user_domain_id" in auth
                    else {"name": auth.get("user_domain_name", "Default")})
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"],
                                                  "password": {"user": user}}}}
    if "project_id" in auth:
        body["auth"]["scope"] = {"project": {"id": auth["project_id"]}}
    elif "project_name" in auth:
        domain = ({"id": auth["project_domain_id"]} if "project_domain_id" in auth
                  else {"name": auth.get("project_domain_name", "Default")})
        body["auth"]["scope"] = {"project": {"name": auth["project_name"], "domain": domain}}
    return body


def connect(cloud: str | None) -> httpx.Client:
    """An httpx client on the image endpoint, with a fresh token."""
    entry = cloud_entry(cloud or "cowcloud")
    auth = entry.get("auth", {})
    url = auth["auth_url"].rstrip("/")
    url = url if url.endswith("/v3") else url + "/v3"
    verify = entry.get("cacert", entry.get("verify", True))
    resp = httpx.post(f"{url}/auth/tokens", json=_auth_body(auth, entry.get("auth_type")),
                      verify=verify, timeout=30)
    if resp.status_code != 201:
        raise CliError(f"authentication failed ({resp.status_code}): {resp.text[:200]}")
    interface = entry.get("interface", "public")
    region = entry.get("region_name")
    for service in resp.json()["token"].get("catalog", []):
        if service["type"] != "image":
            continue
        for ep in service["endpoints"]:
            if ep["interface"] == interface and (region is None or ep.get("region") == region):
                return httpx.Client(base_url=ep["url"].rstrip("/"), verify=verify,
                                    headers={"X-Auth-Token": resp.headers["X-Subject-Token"],
                                             "Accept": "application/json"},
                                    timeout=httpx.Timeout(60, read=600, write=600))
    raise CliError("the catalog has no image endpoint")


def _check(resp: httpx.Response, what: str) -> httpx.Response:
    if resp.status_code >= 400:
        try:
            msg = resp.json().get("message", resp.text)
        except ValueError:
            msg = resp.text
        raise CliError(f"{what} failed ({resp.status_code}): {msg}")
    return resp


def find_image(client: httpx.Client, name_or_id: str) -> dict[str, Any]:
    if UUID.match(name_or_id):
        return dict(_check(client.get(f"/v2/images/{name_or_id}"), "image show").json())
    found = _check(client.get("/v2/images", params={"name": name_or_id}), "image list").json()
    if len(found["images"]) != 1:
        raise CliError(f"{len(found['images'])} images are named {name_or_id!r}: use the id")
    return dict(found["images"][0])


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console)


def _run(fn: Any) -> None:
    try:
        fn()
    except (CliError, httpx.HTTPError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


# ------------------------------------------------------------------------ commands

@image_app.command("upload")
def upload(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
           name: Annotated[Optional[str], typer.Option(help="default: the file name")] = None,
           disk_format: Annotated[Optional[str], typer.Option(
               help="default: detected from the file's header")] = None,
           container_format: str = "bare",
           store: Annotated[Optional[str], typer.Option(help="default: the default store")] = None,
           visibility: Annotated[Optional[str], typer.Option()] = None,
           prop: Annotated[Optional[list[str]], typer.Option(
               "--property", help="KEY=VALUE, repeatable")] = None,
           cloud: CloudOpt = None) -> None:
    """Create an image and upload FILE into it, streamed, then check the server's checksum."""
    def work() -> None:
        size = file.stat().st_size
        with file.open("rb") as f:
            info = formats.inspect(f.read(formats.HEAD_BYTES))
        fmt = disk_format or ("raw" if info.format == "gpt" else info.format)
        body: dict[str, Any] = {"name": name or file.name, "disk_format": fmt,
                                "container_format": container_format}
        if visibility:
            body["visibility"] = visibility
        for item in prop or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise CliError(f"--property wants KEY=VALUE, not {item!r}")
            body[key] = value
        md5 = hashlib.md5(usedforsecurity=False)
        with connect(cloud) as client:
            image = _check(client.post("/v2/images", json=body), "image create").json()
            headers = {"Content-Type": "application/octet-stream",
                       "x-openstack-image-size": str(size)}
            if store:
                headers["X-Image-Meta-Store"] = store
            with _bar() as bar:
                task = bar.add_task(f"upload {image['id'][:8]}", total=size)

                def chunks() -> Iterator[bytes]:
                    with file.open("rb") as f:
                        while chunk := f.read(CHUNK):
                            md5.update(chunk)
                            bar.advance(task, len(chunk))
                            yield chunk
                resp = client.put(f"/v2/images/{image['id']}/file", content=chunks(),
                                  headers=headers)
            if resp.status_code >= 400:
                client.delete(f"/v2/images/{image['id']}")
                _check(resp, "upload")
            done = _check(client.get(f"/v2/images/{image['id']}"), "image show").json()
        if done.get("checksum") != md5.hexdigest():
            raise CliError(f"checksum mismatch: sent {md5.hexdigest()}, server has "
                           f"{done.get('checksum')}")
        console.print(f"image [bold]{done['name']}[/bold] active in {done.get('stores')} "
                      f"({done['disk_format']}, {done['size']} bytes)")
        print(done["id"])
    _run(work)


@image_app.command("download")
def download(image: str,
             file: Annotated[Path, typer.Option("--file", "-f", help="where to write it")],
             cloud: CloudOpt = None) -> None:
    """Download IMAGE (name or id) to a file, verified against its os_hash_value."""
    def work() -> None:
        with connect(cloud) as client:
            meta = find_image(client, image)
            algo, expected = meta.get("os_hash_algo"), meta.get("os_hash_value")
            hasher = hashlib.new(algo) if algo else None
            part = file.with_name(file.name + ".part")
            with _bar() as bar, part.open("wb") as out, \
                    client.stream("GET", f"/v2/images/{meta['id']}/file") as resp:
                _check(resp, "download")
                task = bar.add_task(f"download {meta['id'][:8]}", total=meta.get("size"))
                for chunk in resp.iter_bytes(CHUNK):
                    out.write(chunk)
                    if hasher:
                        hasher.update(chunk)
                    bar.advance(task, len(chunk))
        if hasher and hasher.hexdigest() != expected:
            part.unlink()
            raise CliError(f"{algo} mismatch: the data downloaded is not the image's")
        part.replace(file)
        console.print(f"{meta['name'] or meta['id']} -> {file} (verified {algo})")
    _run(work)


@image_app.command("copy")
def copy(image: str,
         store: Annotated[Optional[list[str]], typer.Option(
             "--store", help="target store, repeatable")] = None,
         all_stores: Annotated[bool, typer.Option(help="every store it is not in yet")] = False,
         allow_failure: Annotated[bool, typer.Option(
             help="keep the copies that succeed when others fail")] = False,
         cloud: CloudOpt = None, timeout: float = 3600) -> None:
    """Copy IMAGE to other stores (copy-image import), with a progress bar per store."""
    def work() -> None:
        if bool(store) == all_stores:
            raise CliError("give --store (one or more) or --all-stores")
        with connect(cloud) as client:
            meta = find_image(client, image)
            iid = meta["id"]
            before = {t["id"] for t in client.get(f"/v2/images/{iid}/tasks").json()["tasks"]}
            body: dict[str, Any] = {"method": {"name": "copy-image"},
                                    "all_stores_must_succeed": not allow_failure}
            body.update({"all_stores": True} if all_stores else {"stores": store})
            _check(client.post(f"/v2/images/{iid}/import", json=body), "copy")
            task = _follow(client, iid, before, timeout)
            final = client.get(f"/v2/images/{iid}").json()
        if task is None:
            console.print(f"nothing to copy: already in {final.get('stores')}")
        elif task["status"] != "success":
            raise CliError(f"copy failed: {task['message']}")
        else:
            console.print(f"{final['name'] or iid} is in {final.get('stores')}")
    _run(work)


def _follow(client: httpx.Client, iid: str, before: set[str],
            timeout: float) -> dict[str, Any] | None:
    """Shows the new task's per-store progress until it ends; None if no task was made."""
    deadline = time.monotonic() + timeout
    bars: dict[str, Any] = {}
    with _bar() as bar:
        while time.monotonic() < deadline:
            tasks = [t for t in client.get(f"/v2/images/{iid}/tasks").json()["tasks"]
                     if t["id"] not in before]
            if not tasks:
                if client.get(f"/v2/images/{iid}").json().get("os_glance_import_task") is None:
                    return None
            else:
                task = tasks[-1]
                for name, (done, total) in task.get("progress", {}).items():
                    if name not in bars:
                        bars[name] = bar.add_task(f"copy to {name}", total=total or None)
                    bar.update(bars[name], completed=done, total=total or None)
                if task["status"] in ("success", "failure"):
                    return dict(task)
            time.sleep(0.5)
    raise CliError("timed out waiting for the copy")
