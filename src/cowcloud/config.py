"""cowcloud's configuration: one TOML file validated with pydantic, or the embedded default.

Sites hold clusters; clusters hold pools; image stores, volume backends, ephemeral backends and
backup targets are each a named (cluster, pool). With no file at all, one site, one local cluster in
the data folder and SQLite make the embedded default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import Error

ENV_CONFIG = "COWCLOUD_CONFIG"
ENV_DATA_DIR = "COWCLOUD_DATA_DIR"
SYSTEM_CONFIG = Path("/etc/cowcloud/cowcloud.toml")


class ConfigError(Error):
    """The configuration file is missing, unreadable or invalid; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def default_data_dir() -> Path:
    if env := os.environ.get(ENV_DATA_DIR):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/cowcloud")
    return Path.home() / ".local" / "share" / "cowcloud"


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(5000, ge=1, le=65535)
    public_url: str | None = None  # what the catalog advertises; default http://host:port
    data_dir: Path = Field(default_factory=default_data_dir)
    database: str | None = None  # SQLAlchemy URL; default SQLite in data_dir
    region: str = "RegionOne"
    token_ttl_seconds: int = Field(3600, ge=60)
    # What a request may send before its body (api.request_head): the request line and each
    # header line (Glance's max_header_line), the whole head, and the time to send it (Apache
    # mod_reqtimeout's header timeout). Bodies are not counted: image data streams through.
    max_header_line: int = Field(16384, ge=1024)
    max_header_bytes: int = Field(65536, ge=4096)
    header_timeout_seconds: float = Field(20, gt=0)
    # Start-up waits this long for the clusters to open (and recover what a crash left); any
    # cluster still not answering then keeps opening in the background while the server
    # serves, its stores answering 503 until it is back.
    cluster_wait_seconds: float = Field(2, ge=0)
    # SIGTERM: requests, tasks and storage calls still running after this long are abandoned
    # (tasks are resumed by the next runtime), so a stop never hangs on a cluster.
    stop_grace_seconds: float = Field(5, ge=0)

    @property
    def url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite:///{self.data_dir / 'cowcloud.db'}"


class SiteSettings(_Strict):
    description: str = ""


class RbdClusterSettings(_Strict):
    kind: Literal["rbd"]
    site: str
    conf: Path
    keyring: Path | None = None
    user: str = "admin"
    # the libvirt secret (holding `user`'s cephx key on the compute hosts) that volumes'
    # connection_info names; default: the cluster's fsid, as Cinder's rbd_secret_uuid
    secret_uuid: UUID | None = None
    io_threads: int = Field(8, ge=1, le=64)
    # librados waits forever unless told (an OSD or mon that stops answering would hang the
    # server): each OSD request, mon request and the connect give up after these seconds.
    rados_osd_op_timeout: float = Field(30, ge=1)
    rados_mon_op_timeout: float = Field(30, ge=1)
    client_mount_timeout: float = Field(30, ge=1)
    # a copy or stream into this cluster that makes no progress for this long is failed
    stall_timeout: float = Field(120, ge=1)


class LocalClusterSettings(_Strict):
    kind: Literal["local"]
    site: str
    path: Path | None = None  # default: DATA_DIR/clusters/NAME


ClusterSettings = Annotated[Union[RbdClusterSettings, LocalClusterSettings],
                            Field(discriminator="kind")]


class PoolTarget(_Strict):
    """A named (cluster, pool): an image store, a volume, ephemeral or backup backend."""

    cluster: str
    pool: str
    description: str = ""
    default: bool = False
    # image stores (Glance's per-store `weight`): images list their stores and locations
    # heaviest first, and a download reads the heaviest copy unless the caller prefers another
    weight: int = 0


class ImageSettings(_Strict):
    """The image service: ingestion safety, conversion, what image views show, task timing."""

    # web-download refuses loopback, link-local and private targets (SSRF); tests allow them.
    web_download_allow_private: bool = False
    web_download_schemes: tuple[str, ...] = ("http", "https")
    # RBD cannot boot qcow2 (or vmdk, vhd...): convert to raw when the image lands in rbd.
    convert_to_raw_for_rbd: bool = True
    size_cap: int = Field(1 << 40, ge=1)  # Glance's image_size_cap: 1 TiB
    # Who sees direct_url and locations (Glance's show_image_direct_url and
    # show_multiple_locations, both off there): they name each cluster's fsid and pool (OSSN-0065),
    # so admins only by default; "all" as the DCN guide wants, "none" for nobody.
    show_locations: Literal["admin", "all", "none"] = "admin"
    task_lease_seconds: int = Field(30, ge=3)  # renewed every third; a dead worker's runs out
    reap_interval_seconds: int = Field(60, ge=1)  # retry of deferred deletes held by clones
    # Glance's `hashing_algorithm`: what os_hash_algo/os_hash_value use for new data. Clients
    # verify downloads with the algorithm the image names, so any of these works for them;
    # sha256 runs on the CPU's SHA extensions where they exist, about 2.3x sha512's speed here.
    hashing_algorithm: Literal["sha512", "sha384", "sha256", "sha224", "sha3_512", "sha3_384",
                               "sha3_256", "sha3_224", "blake2b", "blake2s"] = "sha512"

    @field_validator("show_locations", mode="before")
    @classmethod
    def _old_boolean(cls, value: Any) -> Any:
        # show_locations was a boolean once: files that say true/false keep their meaning
        if isinstance(value, bool):
            return "all" if value else "none"
        return value

    def locations_visible(self, is_admin: bool) -> bool:
        return self.show_locations == "all" or (self.show_locations == "admin" and is_admin)


class VolumeSettings(_Strict):
    """The volume service: default quotas per project (Cinder's quota_* options, same names
    and defaults; -1 is unlimited) and the clone-depth bound with its flatten queue."""

    quota_volumes: int = Field(10, ge=-1)
    quota_snapshots: int = Field(10, ge=-1)
    quota_gigabytes: int = Field(1000, ge=-1)  # volumes and snapshots, GiB
    quota_backups: int = Field(10, ge=-1)
    quota_backup_gigabytes: int = Field(1000, ge=-1)
    per_volume_size_limit: int = Field(-1, ge=-1)  # GiB; Cinder's per_volume_size_limit
    # Cinder's rbd_max_clone_depth: a volume deeper in a chain of volume-from-volume clones is
    # flattened by the background queue; 0 flattens every clone of a volume.
    max_clone_depth: int = Field(5, ge=0)
    flatten_workers: int = Field(2, ge=1)  # flattens running at once (each is I/O on a pool)


class ComputeSettings(_Strict):
    """The compute service on the control plane (its agents have [agent])."""

    # `cowcloud serve` runs an agent for its own machine too (configured by [agent], reaching
    # this file's ephemeral backends), so one process is a whole cloud
    local_agent: bool = True
    # a host whose agent has not been heard from for this long is down (Nova's
    # service_down_time); agents heartbeat every third of it
    service_down_seconds: float = Field(60, ge=3)
    # how long an agent's request for work is held open when there is none
    agent_poll_seconds: float = Field(20, ge=0.1, le=120)
    # each project's quotas (Nova's defaults); -1: unlimited
    quota_instances: int = Field(10, ge=-1)
    quota_cores: int = Field(20, ge=-1)
    quota_ram_mb: int = Field(51200, ge=-1)
    quota_key_pairs: int = Field(100, ge=-1)
    quota_server_groups: int = Field(10, ge=-1)


class AgentSettings(_Strict):
    """A compute agent (`cowcloud agent`, or the one `cowcloud serve` runs): its host, how it
    reaches the control plane, and what it reports. The ephemeral backends it reaches are this
    file's [ephemeral_backends] (over its [clusters]), all of them unless `backends` names
    some."""

    host: str | None = None  # default: this machine's host name
    control_url: str | None = None  # default: [server]'s url
    # the service user the agent authenticates as (it needs the admin role); the password may
    # come from $COWCLOUD_AGENT_PASSWORD instead of the file
    username: str = "admin"
    password: str | None = None
    project: str = "admin"
    domain: str = "Default"
    driver: Literal["fake", "qemu"] = "fake"
    vcpus: int | None = Field(None, ge=1)  # default: this machine's
    memory_mb: int | None = Field(None, ge=1)
    site: str | None = None  # default: the site of its backends' clusters
    backends: tuple[str, ...] | None = None
    state_dir: Path | None = None  # default: DATA_DIR/agent/HOST


class Settings(_Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    image: ImageSettings = Field(default_factory=ImageSettings)
    volume: VolumeSettings = Field(default_factory=VolumeSettings)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    sites: dict[str, SiteSettings] = Field(default_factory=dict)
    clusters: dict[str, ClusterSettings] = Field(default_factory=dict)
    image_stores: dict[str, PoolTarget] = Field(default_factory=dict)
    volume_backends: dict[str, PoolTarget] = Field(default_factory=dict)
    ephemeral_backends: dict[str, PoolTarget] = Field(default_factory=dict)
    backup_targets: dict[str, PoolTarget] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        for name, cluster in self.clusters.items():
            if cluster.site not in self.sites:
                raise ValueError(f"clusters.{name}.site: unknown site {cluster.site!r} "
                                 f"(known: {', '.join(sorted(self.sites)) or 'none'})")
        for section in ("image_stores", "volume_backends", "ephemeral_backends", "backup_targets"):
            targets: dict[str, PoolTarget] = getattr(self, section)
            for name, target in targets.items():
                if target.cluster not in self.clusters:
                    raise ValueError(f"{section}.{name}.cluster: unknown cluster "
                                     f"{target.cluster!r} (known: "
                                     f"{', '.join(sorted(self.clusters)) or 'none'})")
            defaults = [n for n, t in targets.items() if t.default]
            if section == "ephemeral_backends" and self.agent.backends is not None:
                unknown = sorted(set(self.agent.backends) - set(targets))
                if unknown:
                    raise ValueError(f"agent.backends: unknown ephemeral backend(s) "
                                     f"{', '.join(unknown)} (known: "
                                     f"{', '.join(sorted(targets)) or 'none'})")
            if len(defaults) > 1:
                raise ValueError(f"{section}: more than one default ({', '.join(defaults)})")
        return self

    def cluster_path(self, name: str) -> Path:
        cluster = self.clusters[name]
        assert isinstance(cluster, LocalClusterSettings)
        return cluster.path or self.server.data_dir / "clusters" / name

    def default_of(self, section: str) -> str | None:
        targets: dict[str, PoolTarget] = getattr(self, section)
        for name, target in targets.items():
            if target.default:
                return name
        return next(iter(targets), None)


STORAGE_SECTIONS = ("sites", "clusters", "image_stores", "volume_backends", "ephemeral_backends",
                    "backup_targets")


def _embedded_storage() -> dict[str, Any]:
    local = {"cluster": "local"}
    return {
        "sites": {"default": {"description": "this machine"}},
        "clusters": {"local": {"kind": "local", "site": "default"}},
        "image_stores": {"local": {**local, "pool": "images", "default": True}},
        "volume_backends": {"local": {**local, "pool": "volumes", "default": True}},
        "ephemeral_backends": {"local": {**local, "pool": "vms", "default": True}},
        "backup_targets": {"local": {**local, "pool": "backups", "default": True}},
    }


def embedded_default(data_dir: Path | None = None) -> Settings:
    """One site, one local cluster in the data folder, SQLite: cowcloud on one machine."""
    server = ServerSettings(data_dir=data_dir) if data_dir else ServerSettings()
    return Settings.model_validate({"server": server.model_dump(), **_embedded_storage()})


# Glance (and glance_store) option names an operator may carry over from glance-api.conf, and
# what cowcloud calls them: an unknown key with one of these names says where it went.
GLANCE_NAMES = {
    "show_image_direct_url": '[image] show_locations ("all": every user sees direct_url and '
                             'locations, "admin": admins only, "none")',
    "show_multiple_locations": '[image] show_locations ("all": every user sees direct_url and '
                               'locations, "admin": admins only, "none")',
    "image_size_cap": "[image] size_cap",
    "enabled_backends": "one [image_stores.NAME] section per store",
    "default_backend": "default = true in one [image_stores.NAME]",
    "rbd_store_pool": "pool in [image_stores.NAME]",
    "rbd_store_user": "user in [clusters.NAME]",
    "rbd_store_ceph_conf": "conf in [clusters.NAME]",
    "store_description": "description in [image_stores.NAME]",
    "bind_host": "[server] host",
    "bind_port": "[server] port",
    "public_endpoint": "[server] public_url",
    "connection": "[server] database",
    # whole glance-api.conf sections pasted in
    "DEFAULT": "[server] and [image]",
    "glance_store": "[image_stores.NAME] over [clusters.NAME]",
    "database": "[server] database (a SQLAlchemy URL)",
}


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        msg = e["msg"].removeprefix("Value error, ")
        last = str(e["loc"][-1]) if e["loc"] else ""
        if e["type"] == "extra_forbidden" and last in GLANCE_NAMES:
            msg += f" (Glance's {last}: cowcloud calls it {GLANCE_NAMES[last]})"
        lines.append(f"{key}: {msg}" if key else msg)
    return "; ".join(lines)


def parse(text: str, source: str = "<config>") -> Settings:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    if not any(section in raw for section in STORAGE_SECTIONS):
        # A file that only moves the port or the database keeps the embedded storage: with no
        # clusters at all the image service would have nowhere to put a byte.
        raw = {**raw, **_embedded_storage()}
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from exc


def locate(path: Path | None = None) -> Path | None:
    """The file named, else $COWCLOUD_CONFIG, else /etc/cowcloud/cowcloud.toml, else None."""
    if path is None and (env := os.environ.get(ENV_CONFIG)):
        path = Path(env)
    if path is None and SYSTEM_CONFIG.exists():
        path = SYSTEM_CONFIG
    return path


def load(path: Path | None = None) -> Settings:
    """The file `locate` finds, else the embedded default."""
    path = locate(path)
    if path is None:
        return embedded_default()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse(text, str(path))
