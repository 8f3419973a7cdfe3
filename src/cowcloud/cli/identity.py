"""`cowcloud init`, `cowcloud user create`, `cowcloud project create`, `cowcloud fernet rotate`,
and the first start of `cowcloud serve`: identity set up straight in the database and the data
folder, no server needed.

The first start makes the admin account (services.identity.bootstrap) and writes a `cowcloud`
entry into clouds.yaml ($OS_CLIENT_CONFIG_FILE, else ~/.config/openstack/clouds.yaml), merged
with the entries already there, so `openstack --os-cloud cowcloud token issue` works at once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from ..config import Settings
from ..errors import Error, NotFound
from ..services.identity import DEFAULT_DOMAIN_ID, BootstrapResult, Identity
from ..services.passwords import random_secret
from ..services.runtime import Runtime
from ..services.tokens import KEYS_FOLDER, FernetKeys, KeyRepositoryError
from .options import ConfigOpt, console, load_settings

CLOUD_NAME = "cowcloud"

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
project_app = typer.Typer(help="Manage projects.", no_args_is_help=True)
fernet_app = typer.Typer(help="Manage the Fernet keys that sign tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(user_app, name="user")
    app.add_typer(project_app, name="project")
    app.add_typer(fernet_app, name="fernet")


# --- clouds.yaml -----------------------------------------------------------------------------

def clouds_yaml_path() -> Path:
    env = os.environ.get("OS_CLIENT_CONFIG_FILE")
    return Path(env) if env else Path.home() / ".config" / "openstack" / "clouds.yaml"


def client_url(settings: Settings) -> str:
    """The URL a client on this machine uses: the public URL, else loopback for a wildcard bind."""
    server = settings.server
    if server.public_url or server.host not in ("0.0.0.0", "::", ""):
        return server.url
    return f"http://127.0.0.1:{server.port}"


def cloud_entry(settings: Settings, admin: BootstrapResult) -> dict[str, Any]:
    auth: dict[str, Any] = {"auth_url": f"{client_url(settings)}/identity",
                            "username": admin.user, "project_name": admin.project,
                            "user_domain_name": admin.domain, "project_domain_name": admin.domain}
    if admin.password:
        auth["password"] = admin.password
    return {"auth": auth, "region_name": settings.server.region, "interface": "public",
            "identity_api_version": 3, "image_api_version": 2}


def write_cloud(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Sets clouds.<name> in the file, keeping every other entry; written atomically, 0600
    (it holds a password). A file that is not a YAML mapping is left alone (ValueError)."""
    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict) or not isinstance(loaded.get("clouds", {}), dict):
            raise ValueError(f"{path} is not a clouds.yaml mapping; not touching it")
        data = loaded
    data.setdefault("clouds", {})[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".clouds-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
            yaml.safe_dump(data, f, default_flow_style=False, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def first_start(settings: Settings) -> BootstrapResult:
    """Schema, keys and admin account (idempotent), clouds.yaml, and how to log in."""
    runtime = Runtime(settings)
    try:
        admin = runtime.prepare()
    except KeyRepositoryError as exc:  # a broken key file: say which, not a traceback
        console.print(f"[red]error:[/red] token keys: {exc}")
        raise typer.Exit(1) from exc
    finally:
        runtime.db.dispose()
    path = clouds_yaml_path()
    try:
        write_cloud(path, CLOUD_NAME, cloud_entry(settings, admin))
        console.print(f"clouds.yaml: entry [bold]{CLOUD_NAME}[/bold] written to {path}")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        console.print(f"[yellow]clouds.yaml not written:[/yellow] {exc}")
    console.print(f"admin login: user [bold]{admin.user}[/bold], project "
                  f"[bold]{admin.project}[/bold], domain {admin.domain}; password: "
                  + (f"in {admin.password_source}" if admin.password else
                     "[yellow]unknown[/yellow] (set $COWCLOUD_ADMIN_PASSWORD and restart to "
                     "reset it)"))
    console.print(f"try: [bold]openstack --os-cloud {CLOUD_NAME} token issue[/bold]")
    return admin


def init(config: ConfigOpt = None) -> None:
    """Set up the data folder, database, admin account and clouds.yaml, without serving."""
    first_start(load_settings(config))


# --- users and projects ----------------------------------------------------------------------

@contextmanager
def identity_of(config: Path | None) -> Iterator[Identity]:
    runtime = Runtime(load_settings(config))
    try:
        runtime.prepare()
        yield runtime.identity
    except Error as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        runtime.db.dispose()


def find_project(identity: Identity, name_or_id: str, domain_id: str) -> str:
    try:
        return identity.get_project(name_or_id).id
    except NotFound:
        found = identity.list_projects(name=name_or_id, domain_id=domain_id)
        if not found:
            raise
        return found[0].id


@project_app.command("create")
def project_create(name: str,
                   description: Annotated[str, typer.Option(help="free text")] = "",
                   domain: Annotated[str, typer.Option(help="domain id")] = DEFAULT_DOMAIN_ID,
                   config: ConfigOpt = None) -> None:
    """Create a project."""
    with identity_of(config) as identity:
        project = identity.create_project(name, domain, description)
    console.print(f"project [bold]{project.name}[/bold] created: {project.id}")
    print(project.id)


@user_app.command("create")
def user_create(name: str,
                project: Annotated[str, typer.Option(help="project (name or id) to work in")],
                role: Annotated[str, typer.Option(help="role on the project")] = "member",
                password: Annotated[Optional[str], typer.Option(
                    help="the password (default: a random one, printed)")] = None,
                email: Annotated[Optional[str], typer.Option(help="e-mail address")] = None,
                domain: Annotated[str, typer.Option(help="domain id")] = DEFAULT_DOMAIN_ID,
                config: ConfigOpt = None) -> None:
    """Create a user with a role on a project (member by default)."""
    generated = password is None
    password = password or random_secret(12)
    with identity_of(config) as identity:
        project_id = find_project(identity, project, domain)
        roles = identity.list_roles(name=role)
        if not roles:
            raise NotFound(f"Could not find role: {role}.")
        user = identity.create_user(name, domain, password, email=email,
                                    default_project_id=project_id)
        identity.add_grant(user.id, "project", project_id, roles[0].id)
    console.print(f"user [bold]{name}[/bold] created: {user.id}, role {role} on project "
                  f"{project}")
    if generated:
        console.print(f"password: [bold]{password}[/bold]")
    print(user.id)


@fernet_app.command("rotate")
def fernet_rotate(config: ConfigOpt = None,
                  max_active_keys: Annotated[int, typer.Option(
                      min=2, help="keys kept, the staged and the primary included")] = 3) -> None:
    """Rotate the token keys (keystone-manage fernet_rotate): the staged key starts signing.

    Tokens signed with a key that is removed stop validating, so keep max-active-keys above
    (token lifetime / rotation interval) + 1. A running server picks the new keys up itself.
    """
    keys = FernetKeys(load_settings(config).server.data_dir / KEYS_FOLDER)
    try:
        names = keys.rotate(max_active_keys)
    except (KeyRepositoryError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"fernet keys in {keys.directory}: {', '.join(names)} "
                  f"(primary {names[0]}, staged 0)")
