"""`cowcloud volume backup create | restore`: volume backups over the Block Storage API, with a
progress bar (the openstack client returns at once and leaves the user polling `show`).

Same clouds.yaml and authentication as the image commands (cli/image.py). The bar follows the
`X-Backup-Progress: DONE TOTAL` header that GET /backups/{id} answers while the backup's task
runs (bytes moved and to move, from the task's own progress).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import httpx
import typer

from .image import UUID, CliError, CloudOpt, _auth_body, _bar, _check, _run, cloud_entry
from .options import console

volume_app = typer.Typer(help="Volume commands the openstack client is clumsy at.",
                         no_args_is_help=True)
backup_app = typer.Typer(help="Back volumes up and restore them, with progress bars.",
                         no_args_is_help=True)
volume_app.add_typer(backup_app, name="backup")
CATALOG_TYPES = ("block-storage", "volumev3")
POLL = 0.3


def register(app: typer.Typer) -> None:
    app.add_typer(volume_app, name="volume")


def connect(cloud: str | None) -> httpx.Client:
    """An httpx client on the volume endpoint (/volume/v3/{project_id}), with a fresh token."""
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
        if service["type"] not in CATALOG_TYPES:
            continue
        for ep in service["endpoints"]:
            if ep["interface"] == interface and (region is None or ep.get("region") == region):
                return httpx.Client(base_url=ep["url"].rstrip("/"), verify=verify,
                                    headers={"X-Auth-Token": resp.headers["X-Subject-Token"],
                                             "Accept": "application/json",
                                             "OpenStack-API-Version": "volume 3.64"},
                                    timeout=60)
    raise CliError("the catalog has no volume endpoint")


def _find(client: httpx.Client, kind: str, name_or_id: str) -> dict[str, Any]:
    single = kind[:-1]
    if UUID.match(name_or_id):
        return dict(_check(client.get(f"/{kind}/{name_or_id}"), f"{single} show").json()[single])
    found = _check(client.get(f"/{kind}", params={"name": name_or_id}), f"{single} list"
                   ).json()[kind]
    if len(found) != 1:
        raise CliError(f"{len(found)} {kind} are named {name_or_id!r}: use the id")
    return dict(_check(client.get(f"/{kind}/{found[0]['id']}"), f"{single} show"
                       ).json()[single])


def _follow(client: httpx.Client, backup_id: str, busy: str, what: str,
            timeout: float) -> dict[str, Any]:
    """Draws the backup's progress until it leaves status `busy`; returns the backup."""
    deadline = time.monotonic() + timeout
    with _bar() as bar:
        task = bar.add_task(what, total=None)
        while True:
            resp = _check(client.get(f"/backups/{backup_id}"), "backup show")
            backup = dict(resp.json()["backup"])
            progress = resp.headers.get("X-Backup-Progress")
            if progress:
                done, total = (int(x) for x in progress.split())
                bar.update(task, completed=done, total=total or None)
            if backup["status"] != busy:
                if backup["status"] in ("available",) and bar.tasks[0].total:
                    bar.update(task, completed=bar.tasks[0].total)
                return backup
            if time.monotonic() > deadline:
                raise CliError(f"timed out waiting for backup {backup_id}")
            time.sleep(POLL)


@backup_app.command("create")
def create(volume: str,
           name: Annotated[Optional[str], typer.Option(help="the backup's name")] = None,
           incremental: Annotated[bool, typer.Option(
               help="only what changed since the volume's last backup")] = False,
           force: Annotated[bool, typer.Option(help="back up an in-use volume")] = False,
           container: Annotated[Optional[str], typer.Option(
               help="backup target (default: the configured default)")] = None,
           snapshot: Annotated[Optional[str], typer.Option(
               help="back up this snapshot of the volume (name or id)")] = None,
           cloud: CloudOpt = None, timeout: float = 3600) -> None:
    """Back VOLUME (name or id) up and follow the copy with a progress bar."""
    def work() -> None:
        with connect(cloud) as client:
            vol = _find(client, "volumes", volume)
            body: dict[str, Any] = {"volume_id": vol["id"], "incremental": incremental,
                                    "force": force}
            for key, value in (("name", name), ("container", container)):
                if value is not None:
                    body[key] = value
            if snapshot is not None:
                body["snapshot_id"] = _find(client, "snapshots", snapshot)["id"]
            made = _check(client.post("/backups", json={"backup": body}), "backup create"
                          ).json()["backup"]
            kind = "incremental backup" if incremental else "backup"
            done = _follow(client, made["id"], "creating",
                           f"{kind} of {vol['name'] or vol['id'][:8]}", timeout)
        if done["status"] != "available":
            raise CliError(f"backup failed: {done.get('fail_reason')}")
        console.print(f"backup [bold]{done['name'] or done['id']}[/bold] available in "
                      f"{done['container']} ({'incremental' if done['is_incremental'] else 'full'}"
                      f", {done['size']} GiB)")
        print(done["id"])
    _run(work)


@backup_app.command("restore")
def restore(backup: str,
            volume: Annotated[Optional[str], typer.Option(
                help="existing volume to write over (name or id); default: a new volume")
            ] = None,
            name: Annotated[Optional[str], typer.Option(help="the new volume's name")] = None,
            cloud: CloudOpt = None, timeout: float = 3600) -> None:
    """Restore BACKUP (name or id) into a new volume or over an existing one, with a bar."""
    def work() -> None:
        with connect(cloud) as client:
            found = _find(client, "backups", backup)
            body: dict[str, Any] = {}
            if volume is not None:
                body["volume_id"] = _find(client, "volumes", volume)["id"]
            if name is not None:
                body["name"] = name
            out = _check(client.post(f"/backups/{found['id']}/restore",
                                     json={"restore": body}), "backup restore"
                         ).json()["restore"]
            _follow(client, found["id"], "restoring",
                    f"restore into {out['volume_name'] or out['volume_id'][:8]}", timeout)
            vol = _check(client.get(f"/volumes/{out['volume_id']}"), "volume show"
                         ).json()["volume"]
        if vol["status"] != "available":
            raise CliError(f"restore failed: volume {vol['id']} is {vol['status']}")
        console.print(f"volume [bold]{vol['name'] or vol['id']}[/bold] restored from "
                      f"{found['name'] or found['id']} ({vol['size']} GiB)")
        print(vol["id"])
    _run(work)
