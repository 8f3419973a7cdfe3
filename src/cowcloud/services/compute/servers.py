"""Servers: create (checked, scheduled and queued in one transaction), read, list, actions,
delete, and the agents' reports applied to them.

A create that no host fits is kept, in ERROR, with a fault that names the filter that refused
(Nova answers 202 and sets the fault too). Bad input is refused before any row is written.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ...config import ComputeSettings
from ...db.models import ComputeHost, Flavor, Server, ServerGroup, utcnow
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import bdm, checks, evacuate, flavors, keypairs, limits, placement, work
from .errors import BadRequest, ComputeConflict
from .scheduler import NoValidHost, RequestSpec, schedule
from .views import GiB, Version, isotime, links

BACKEND_KEY = "cowcloud:ephemeral_backend"  # the native flavor key naming the backend
RAW_FORMATS = ("raw", "iso")
NOSTATE, RUNNING, SHUTDOWN = 0, 1, 4
STATUS = {"building": "BUILD", "active": "ACTIVE", "stopped": "SHUTOFF", "error": "ERROR",
          "deleted": "DELETED"}
SORT_KEYS = ("created_at", "display_name", "name", "updated_at", "uuid", "vm_state", "host")


class ServerNotFound(NotFound):
    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} could not be found.")


@dataclass(frozen=True)
class CreateRequest:
    name: str
    flavor_ref: str
    image_ref: str
    nic: str
    zone: str | None
    forced_host: str | None
    key_name: str | None
    metadata: dict[str, str]
    description: str | None
    group: str | None
    hints: dict[str, Any]
    boot: Any = None   # bdm.BootVolume: the root is a volume


def _ref_id(value: Any, name: str) -> str:
    """A flavorRef or imageRef: an id, or a link ending in one."""
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise BadRequest(f"Invalid {name} provided.")
    return str(value).strip().rstrip("/").rsplit("/", 1)[-1]


def _count(spec: dict[str, Any], key: str) -> int:
    """min_count/max_count as Nova's schema takes them: a positive integer, or its digits."""
    value = spec.get(key, 1)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         f"{key} must be a positive integer")
    return value


def parse_create(body: Any, version: Version) -> CreateRequest:
    spec = checks.body_of(body, "server")
    low, high = _count(spec, "min_count"), _count(spec, "max_count")
    if low > high:
        raise BadRequest("min_count must be <= max_count")
    if high > 1:  # one server per request; several at once is not built
        raise BadRequest("Creating several servers in one request (min_count/max_count) is "
                         "not supported here.")
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise BadRequest("Invalid input for field/attribute os:scheduler_hints.")
    name = checks.name(spec.get("name"), "name")
    boot = bdm.parse(spec.get("block_device_mapping_v2"))  # a root volume (bdm.py)
    for mapping in spec.get("block_device_mapping_v2") or []:
        # openstackclient names the image as a mapping too (image -> local, boot index 0):
        # that is the root disk imageRef describes; the root volume is bdm.py's
        if bdm.is_root_volume(mapping):
            continue
        if not (isinstance(mapping, dict) and mapping.get("source_type") == "image"
                and mapping.get("destination_type", "local") == "local"):
            raise BadRequest("Block Device Mapping is Invalid: only the root volume (boot "
                             "index 0) is mapped here; attach other volumes afterwards.")
    if spec.get("block_device_mapping"):
        raise BadRequest("The legacy block_device_mapping is not supported here: use "
                         "block_device_mapping_v2.")
    if boot is None and ("imageRef" not in spec or spec.get("imageRef") in (None, "")):
        raise BadRequest("Missing imageRef attribute")
    networks = spec.get("networks")
    if networks is None:
        if version >= (2, 37):
            raise BadRequest("Invalid input for field/attribute server. Value: "
                             f"{spec}. 'networks' is a required property")
        nic = "auto"
    elif networks in ("none", "auto"):
        nic = networks
    elif isinstance(networks, list) and not networks:
        nic = "none"
    else:
        raise BadRequest("Networks are minimal here (no Neutron): 'networks' is 'none' "
                         "(no NIC) or 'auto' (a user-mode NIC).")
    zone = spec.get("availability_zone")
    forced = None
    if zone is not None:
        if not isinstance(zone, str) or not zone:
            raise BadRequest("Invalid input for field/attribute availability_zone.")
        zone, _, forced_host = zone.partition(":")
        forced = forced_host or None
        zone = zone or None
    meta = checks.string_map(spec.get("metadata") or {}, "metadata")
    if len(meta) > limits.MAX_SERVER_META:
        raise limits.QuotaExceeded("Quota exceeded, too many metadata items (maximum "
                                   f"{limits.MAX_SERVER_META}).")
    group = hints.get("group")
    if group is not None and not isinstance(group, str):
        raise BadRequest("Invalid input for field/attribute group.")
    description = spec.get("description")
    if description is not None and (version < (2, 19) or not isinstance(description, str)):
        raise BadRequest("Invalid input for field/attribute description.")
    key_name = spec.get("key_name")
    if key_name is not None and not isinstance(key_name, str):
        raise BadRequest("Invalid input for field/attribute key_name.")
    return CreateRequest(name=name, flavor_ref=_ref_id(spec.get("flavorRef"), "flavorRef"),
                         image_ref=("" if boot is not None else
                                    _ref_id(spec.get("imageRef"), "imageRef")), nic=nic,
                         zone=zone, forced_host=forced, key_name=key_name,
                         metadata={k: v for k, v in meta.items() if v is not None},
                         description=description, group=group, hints=dict(hints),
                         boot=boot)


def _flavor_copy(flavor: Flavor) -> dict[str, Any]:
    return {"id": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "ram": flavor.memory_mb, "disk": flavor.root_gb, "ephemeral": flavor.ephemeral_gb,
            "swap": flavor.swap, "extra_specs": flavors.specs_of(flavor)}


def _root_bytes(flavor: Flavor, image: Any) -> int:
    """The flavor's root size; a flavor of disk 0 takes the image's size (as Nova does)."""
    if flavor.root_gb:
        return int(flavor.root_gb * GiB)
    needed = image.virtual_size or image.size or GiB
    return -(-needed // GiB) * GiB


def check_image_fits(flavor: Flavor, image: Any) -> None:
    flavor_bytes = flavor.root_gb * GiB
    if flavor.root_gb and image.min_disk and image.min_disk * GiB > flavor_bytes:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                         f"{flavor_bytes} bytes, minimum disk requested by the image is "
                         f"{image.min_disk * GiB} bytes.")
    needed = image.virtual_size or 0
    if flavor.root_gb and needed > flavor_bytes:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                         f"{flavor_bytes} bytes, image is {needed} bytes.")
    if image.min_ram and image.min_ram > flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if not image.copies:
        raise BadRequest(f"Image {image.id} has no data in any store.")


def create(s: Session, ctx: RequestContext, req: CreateRequest, image: Any, version: Version,
           base: str, *, down_after: float, convert_for_rbd: bool, quotas: ComputeSettings
           ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The row, scheduled, and its spawn: (the create answer, the spawn's plan or None when
    the server went to ERROR). Refusals come before anything is written."""
    enforce(ctx, "compute:servers:create", {"project_id": ctx.project_id})
    if ctx.project_id is None:
        raise BadRequest("A project-scoped token is needed to create a server.")
    flavor = s.scalar(select(Flavor).where(Flavor.flavorid == req.flavor_ref))
    if flavor is None or not flavors.may_use(s, ctx, flavor):
        raise BadRequest(f"Flavor {req.flavor_ref} could not be found.")
    check_image_fits(flavor, image)
    if req.key_name is not None and keypairs.find(s, ctx.user_id, req.key_name) is None:
        raise BadRequest("Invalid key_name provided.")
    specs = flavors.specs_of(flavor)
    states = placement.host_states(s, down_after)
    wanted_backend = specs.get(BACKEND_KEY)
    known = placement.known_backends(states)
    if wanted_backend is not None and wanted_backend not in known:
        raise BadRequest(f"Flavor {flavor.flavorid} names ephemeral backend "
                         f"{wanted_backend!r}, which no compute host reaches (known: "
                         f"{', '.join(sorted(known)) or 'none'}).")
    raw = image.disk_format in RAW_FORMATS
    allowed = None if raw or convert_for_rbd else frozenset({"local"})
    if allowed is not None and wanted_backend and known[wanted_backend].kind == "rbd":
        raise BadRequest(f"Image {image.id} is {image.disk_format}: RBD boots raw images "
                         f"only, and conversion to raw is off ([image] "
                         f"convert_to_raw_for_rbd); backend {wanted_backend} is rbd.")
    if req.zone is not None and req.zone not in placement.known_zones(states):
        raise BadRequest("The requested availability zone is not available")
    if req.forced_host is not None:
        if not ctx.is_admin:
            raise BadRequest("Only admins may name a host in availability_zone.")
        if req.forced_host not in {st.host for st in states}:
            raise BadRequest(f"Compute host {req.forced_host} could not be found.")
    limits.check(s, quotas, ctx.project_id, flavor.vcpus, flavor.memory_mb)
    group = None
    if req.group is not None:
        group = s.get(ServerGroup, req.group)
        if group is None or (group.project_id != ctx.project_id and not ctx.is_admin):
            raise BadRequest(f"Invalid server group {req.group}.")
    group_hosts = frozenset()
    if group is not None and group.policy in ("affinity", "anti-affinity"):
        group_hosts = frozenset(h for h in s.scalars(select(Server.host).where(
            Server.group_id == group.id, Server.deleted.is_(False),
            Server.host.is_not(None))) if h)
    root_size = _root_bytes(flavor, image)
    spec = RequestSpec(
        vcpus=flavor.vcpus, memory_mb=flavor.memory_mb, root_gb=root_size // GiB,
        extra_specs=specs, image_properties=dict(image.properties), zone=req.zone,
        backend=wanted_backend, forced_host=req.forced_host,
        group_policy=group.policy if group and group.policy in (
            "affinity", "anti-affinity") else None, group_hosts=group_hosts,
        allowed_kinds=allowed)
    server = Server(id=str(uuid.uuid4()), name=req.name, description=req.description,
                    project_id=ctx.project_id, user_id=ctx.user_id, vm_state="building",
                    task_state="scheduling", power_state=NOSTATE, flavor=_flavor_copy(flavor),
                    image_id=image.id, requested_zone=req.zone, nic=req.nic,
                    key_name=req.key_name, meta=req.metadata, hints=req.hints,
                    group_id=group.id if group else None)
    plan = None
    try:
        chosen = schedule(states, spec)
    except NoValidHost as exc:
        server.vm_state, server.task_state = "error", None
        server.fault = {"code": 500, "message": exc.message, "created": isotime(utcnow())}
    else:
        backend = chosen.backend(wanted_backend)
        assert backend is not None
        server.host, server.availability_zone = chosen.host, chosen.zone
        server.backend, server.cluster_id, server.pool = (backend.name, backend.cluster_id,
                                                          backend.pool)
        server.task_state = "spawning"
        plan = _plan(server, chosen.host, backend.name, backend.kind, root_size, image)
    s.add(server)
    s.flush()
    answer = {"id": server.id, "links": links(base, "servers", server.id),
              "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
              "adminPass": uuid.uuid4().hex[:12]}
    return answer, plan


def _plan(server: Server, host: str, backend: str, kind: str, root_size: int,
          image: Any, work_kind: str = "spawn") -> dict[str, Any]:
    """What the host's agent needs to build the root disk and start the guest."""
    f = server.flavor
    return {"server_id": server.id, "host": host, "kind": work_kind, "name": server.name,
            "vcpus": int(f["vcpus"]), "memory_mb": int(f["ram"]), "nic": server.nic,
            "root": {"backend": backend, "kind": kind, "cluster_id": server.cluster_id,
                     "pool": server.pool, "size": root_size,
                     "image": {"id": image.id, "disk_format": image.disk_format,
                               "size": image.size, "copies": [
                                   {"cluster": c.cluster, "cluster_id": c.cluster_id,
                                    "pool": c.pool, "device": c.device, "snap": c.snap}
                                   for c in image.copies]}}}


def queue_spawn(s: Session, plan: dict[str, Any]) -> None:
    """The spawn (or rebuild) goes to the host's agent, unless the server was deleted or
    moved on meanwhile."""
    server = s.get(Server, plan["server_id"])
    kind = plan.get("kind", "spawn")
    if server is None or server.deleted or server.task_state == "deleting":
        return
    if (kind == "spawn" and server.vm_state != "building") or (
            kind == "rebuild" and server.task_state != "rebuilding"):
        return
    work.add(s, plan["host"], kind, plan, server_id=server.id)


def rebuild(s: Session, ctx: RequestContext, server_id: str, arg: Any, image: Any,
            convert_for_rbd: bool) -> dict[str, Any]:
    """Rebuild: a new root disk from `image` on the same host and backend (Nova's rebuild);
    the plan for the host's agent."""
    server = load(s, ctx, server_id, "compute:servers:rebuild")
    if server.vm_state not in ("active", "stopped", "error") or server.task_state \
            or server.host is None or server.backend is None:
        raise _conflict(server, "rebuild")
    flavor = Flavor(flavorid=server.flavor["id"], name=server.flavor["name"],
                    memory_mb=int(server.flavor["ram"]), vcpus=int(server.flavor["vcpus"]),
                    root_gb=int(server.flavor["disk"]))
    check_image_fits(flavor, image)
    host = s.scalar(select(ComputeHost).where(ComputeHost.host == server.host))
    backend = next((b for b in (host.backends if host else []) if b.name == server.backend),
                   None)
    if backend is None:
        raise ComputeConflict(f"Host {server.host} no longer reaches backend {server.backend}.")
    if backend.kind == "rbd" and image.disk_format not in RAW_FORMATS and not convert_for_rbd:
        raise BadRequest(f"Image {image.id} is {image.disk_format}: RBD boots raw images "
                         "only, and conversion to raw is off.")
    if isinstance(arg, dict) and "name" in arg:
        server.name = checks.name(arg["name"], "name")
    server.image_id = image.id
    server.task_state = "rebuilding"
    server.updated_at = utcnow()
    plan = _plan(server, server.host, backend.name, backend.kind, _root_bytes(flavor, image),
                 image, "rebuild")
    plan["stopped"] = server.vm_state == "stopped"  # Nova rebuilds a stopped server stopped
    return plan


def fail(s: Session, server_id: str, message: str) -> None:
    server = s.get(Server, server_id)
    if server is not None and not server.deleted and server.vm_state == "building":
        server.vm_state, server.task_state = "error", None
        server.fault = {"code": 500, "message": message, "created": isotime(utcnow())}


# ------------------------------------------------------------------ reads

def host_id(server: Server) -> str:
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


def status_of(server: Server) -> str:
    if server.task_state == "rebuilding" and server.vm_state in ("active", "stopped", "error"):
        return "REBUILD"
    if server.vm_state == "active" and server.task_state == "rebooting":
        return "REBOOT"
    if server.vm_state == "active" and server.task_state == "rebooting_hard":
        return "HARD_REBOOT"
    return STATUS.get(server.vm_state, "UNKNOWN")


def view(server: Server, ctx: RequestContext, version: Version, base: str) -> dict[str, Any]:
    f = server.flavor
    if version >= (2, 47):
        flavor: dict[str, Any] = {"vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"],
                                  "ephemeral": f["ephemeral"], "swap": f["swap"],
                                  "original_name": f["name"]}
        flavor["extra_specs"] = dict(f.get("extra_specs", {}))
    else:
        flavor = {"id": f["id"], "links": links(base, "flavors", f["id"])[1:]}
    out: dict[str, Any] = {
        "id": server.id, "name": server.name, "status": status_of(server),
        "tenant_id": server.project_id, "user_id": server.user_id,
        "metadata": dict(server.meta), "hostId": host_id(server),
        "image": ({"id": server.image_id, "links": links(base, "images", server.image_id)[1:]}
                  if server.image_id else ""),
        "flavor": flavor, "created": _iso(server.created_at),
        "updated": _iso(server.updated_at), "addresses": {}, "accessIPv4": "",
        "accessIPv6": "", "links": links(base, "servers", server.id),
        "OS-DCF:diskConfig": "MANUAL", "progress": 0,
        "OS-EXT-AZ:availability_zone": server.availability_zone or "",
        "config_drive": "", "key_name": server.key_name,
        "OS-SRV-USG:launched_at": isotime(server.launched_at),
        "OS-SRV-USG:terminated_at": isotime(server.deleted_at),
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state, "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": _volumes(server, version),
        "security_groups": [{"name": "default"}],
    }
    if ctx.is_admin:
        out.update({"OS-EXT-SRV-ATTR:host": server.host,
                    "OS-EXT-SRV-ATTR:instance_name": f"instance-{server.id[:8]}",
                    "OS-EXT-SRV-ATTR:hypervisor_hostname": server.host,
                    # cowcloud's own: where the root disk is
                    "cowcloud:root_disk": ({"backend": server.backend, "pool": server.pool,
                                            "device": f"{server.id}_disk"}
                                           if server.backend else None)})
    if ctx.is_admin and server.history:
        out["cowcloud:history"] = list(server.history)
    if server.fault and server.vm_state == "error":
        out["fault"] = dict(server.fault)
    if version >= (2, 9):
        out["locked"] = False
    if version >= (2, 19):
        out["description"] = server.description
    if version >= (2, 26):
        out["tags"] = []
    if version >= (2, 63):
        out["trusted_image_certificates"] = None
    if version >= (2, 71):
        out["server_groups"] = [server.group_id] if server.group_id else []
    if version >= (2, 73):
        out["locked_reason"] = None
    return out


# What PUT /servers/{id} and rebuild answer with before 2.75: Nova's short view, without the
# extended (OS-EXT-*, OS-SRV-USG, ...) attributes; from 2.75 they answer as GET does.
_SHORT = frozenset({
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor",
    "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
    "OS-DCF:diskConfig", "progress", "fault", "locked", "description", "tags",
    "trusted_image_certificates", "server_groups", "locked_reason"})


def short_view(server: Server, ctx: RequestContext, version: Version, base: str, *,
               rebuild: bool = False) -> dict[str, Any]:
    out = view(server, ctx, version, base)
    if version < (2, 75):
        keep = _SHORT | ({"key_name"} if rebuild and version >= (2, 54) else set())
        out = {k: v for k, v in out.items() if k in keep}
    if rebuild and version >= (2, 57):
        out["user_data"] = None  # no user data is kept
    return out


def _volumes(server: Server, version: Version) -> list[dict[str, Any]]:
    from . import volume_attach  # it builds on this module
    s = object_session(server)
    return volume_attach.in_server(s, server.id, version) if s is not None else []


def _guest_volumes(s: Session, server_id: str) -> list[dict[str, Any]]:
    from . import volume_attach
    return volume_attach.guest_volumes(s, server_id)


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def load(s: Session, ctx: RequestContext, server_id: str, rule: str) -> Server:
    server = s.get(Server, server_id)
    if server is None or server.deleted:
        raise ServerNotFound(server_id)
    if not ctx.is_admin and server.project_id != ctx.project_id:
        raise ServerNotFound(server_id)
    enforce(ctx, rule, {"project_id": server.project_id})
    return server


def show(s: Session, ctx: RequestContext, server_id: str, version: Version,
         base: str) -> dict[str, Any]:
    return view(load(s, ctx, server_id, "compute:servers:get"), ctx, version, base)


def list_servers(s: Session, ctx: RequestContext, params: list[tuple[str, str]],
                 version: Version, base: str, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "compute:servers:list")
    p = dict(params)
    q = select(Server).where(Server.deleted.is_(False))
    all_tenants = ctx.is_admin and p.get("all_tenants", "0").lower() not in ("0", "false",
                                                                            "no", "off")
    if "all_tenants" in p and p["all_tenants"] == "":
        all_tenants = ctx.is_admin
    project = p.get("project_id") or p.get("tenant_id")
    if ctx.is_admin and project:
        q = q.where(Server.project_id == project)
    elif not all_tenants:
        q = q.where(Server.project_id == ctx.project_id)
    if "host" in p and ctx.is_admin:
        q = q.where(Server.host == p["host"])
    if "image" in p:
        q = q.where(Server.image_id == p["image"].rstrip("/").rsplit("/", 1)[-1])
    if "availability_zone" in p:
        q = q.where(Server.availability_zone == p["availability_zone"])
    rows = list(s.scalars(q))
    if "flavor" in p:
        rows = [r for r in rows if r.flavor.get("id") == p["flavor"]]
    if "status" in p:
        wanted = {v.upper() for k, v in params if k == "status"}
        rows = [r for r in rows if status_of(r) in wanted]
    if "name" in p:
        try:
            pattern = re.compile(p["name"])
        except re.error:
            raise BadRequest(f"Invalid regular expression {p['name']!r} for name") from None
        rows = [r for r in rows if pattern.search(r.name)]
    key = p.get("sort_key", "created_at")
    if key not in SORT_KEYS:
        raise BadRequest(f"Invalid input for field/attribute sort_key. Value: {key}.")
    attr = {"display_name": "name", "uuid": "id"}.get(key, key)
    rows.sort(key=lambda r: (getattr(r, attr) is None, getattr(r, attr) or "", r.id),
              reverse=p.get("sort_dir", "desc") == "desc")
    if "marker" in p:
        ids = [r.id for r in rows]
        if p["marker"] not in ids:
            raise BadRequest(f"marker [{p['marker']}] not found")
        rows = rows[ids.index(p["marker"]) + 1:]
    if "limit" in p:
        rows = rows[:checks.integer(p["limit"], "limit")]
    if detail:
        return {"servers": [view(r, ctx, version, base) for r in rows]}
    return {"servers": [{"id": r.id, "name": r.name, "links": links(base, "servers", r.id)}
                        for r in rows]}


def update(s: Session, ctx: RequestContext, server_id: str, body: Any, version: Version,
           base: str) -> dict[str, Any]:
    """PUT /servers/{id}: the name, and the description from 2.19."""
    spec = checks.body_of(body, "server")
    allowed = {"name", "description"} if version >= (2, 19) else {"name"}
    unknown = sorted(set(spec) - allowed - {"accessIPv4", "accessIPv6", "OS-DCF:diskConfig"})
    if unknown:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unknown)} were unexpected)")
    server = load(s, ctx, server_id, "compute:servers:update")
    if "name" in spec:
        server.name = checks.name(spec["name"], "name")
    if "description" in spec:
        if spec["description"] is not None and (not isinstance(spec["description"], str)
                                                or len(spec["description"]) > 255):
            raise BadRequest("Invalid input for field/attribute description.")
        server.description = spec["description"]
    server.updated_at = utcnow()
    return short_view(server, ctx, version, base)


# ------------------------------------------------------------------ actions and delete

def _conflict(server: Server, action: str) -> ComputeConflict:
    return ComputeConflict(f"Cannot '{action}' instance {server.id} while it is in vm_state "
                           f"{server.vm_state}")


def action(s: Session, ctx: RequestContext, server_id: str, body: Any) -> str | None:
    """Checks and queues a power action; the host whose agent must be woken."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("An action body names exactly one action.")
    (name, arg), = body.items()
    server = load(s, ctx, server_id, "compute:servers:action")
    if name == "os-stop":
        if server.vm_state != "active" or server.task_state:
            raise _conflict(server, "stop")
        server.task_state, kind, extra = "powering-off", "stop", {}
    elif name == "os-start":
        if server.vm_state != "stopped" or server.task_state:
            raise _conflict(server, "start")
        server.task_state, kind, extra = "powering-on", "start", {}
    elif name == "reboot":
        kind_arg = arg.get("type") if isinstance(arg, dict) else None
        if kind_arg not in ("SOFT", "HARD", "soft", "hard"):
            raise BadRequest("Invalid input for field/attribute type. Value: "
                             f"{kind_arg}. It must be one of SOFT, HARD")
        hard = kind_arg.upper() == "HARD"
        if server.vm_state not in ("active", "stopped") or (
                server.task_state and not hard):
            raise _conflict(server, "reboot")
        server.task_state = "rebooting_hard" if hard else "rebooting"
        kind, extra = "reboot", {"hard": hard}
    else:
        raise BadRequest(f"There is no such action: {name}")
    assert server.host is not None
    f = server.flavor
    guest = {"name": server.name, "vcpus": int(f["vcpus"]), "memory_mb": int(f["ram"]),
             "nic": server.nic, "backend": server.backend,
             "volumes": _guest_volumes(s, server.id)}
    work.add(s, server.host, kind, {"server_id": server.id, **guest, **extra},
             server_id=server.id)
    server.updated_at = utcnow()
    return server.host


def console_request(s: Session, ctx: RequestContext, server_id: str, arg: Any
                    ) -> tuple[int, str, int | None]:
    """Queues a read of the guest's console for its agent: (work id, host, lines wanted)."""
    length = arg.get("length") if isinstance(arg, dict) else None
    if length is not None:
        length = checks.integer(length, "length", -1)
        length = None if length == -1 else length
    server = load(s, ctx, server_id, "compute:servers:console")
    if server.vm_state not in ("active", "stopped") or server.host is None:
        raise _conflict(server, "os-getConsoleOutput")
    work_id = work.add(s, server.host, "console", {"server_id": server.id, "length": length},
                       server_id=server.id)
    return work_id, server.host, length


def console_tail(output: str, length: int | None) -> str:
    """Nova's cut: the last `length` pieces of the log split at newlines (a log that ends in a
    newline gives length - 1 lines and an empty last piece, as tempest expects)."""
    return output if length is None else "\n".join(output.split("\n")[-length:])


def delete(s: Session, ctx: RequestContext, server_id: str) -> str | None:
    """Marks the server deleting and queues its destroy; a server that never reached a host
    goes at once. The host whose agent must be woken, or None."""
    server = load(s, ctx, server_id, "compute:servers:delete")
    if server.task_state == "deleting":
        return server.host
    if server.host is None:
        _gone(server)
        return None
    server.task_state = "deleting"
    work.add(s, server.host, "destroy", {"server_id": server.id, "backend": server.backend},
             server_id=server.id)
    return server.host


def _gone(server: Server) -> None:
    server.deleted, server.vm_state, server.task_state = True, "deleted", None
    server.power_state, server.deleted_at = NOSTATE, utcnow()


# ------------------------------------------------------------------ the agents' reports

def apply(s: Session, item: Any, result: dict[str, Any]) -> None:
    server = s.get(Server, item.server_id) if item.server_id else None
    if server is None:
        return
    if item.kind == "console":
        return  # a read: the caller takes the output from the work row
    if item.kind == "evacuate":
        evacuate.finish(server, bool(result.get("ok")), result)
        server.updated_at = utcnow()
        return
    ok = bool(result.get("ok"))
    power = int(result.get("power_state", server.power_state))
    now = utcnow()
    if item.kind in ("spawn", "rebuild"):
        if server.deleted or server.task_state == "deleting":
            return
        if ok:
            server.task_state, server.power_state = None, power
            server.vm_state = "stopped" if item.kind == "rebuild" and power == SHUTDOWN \
                else "active"
            server.launched_at = now
        else:
            server.vm_state, server.task_state = "error", None
            server.fault = {"code": 500, "message": str(result.get("error")),
                            "created": isotime(now)}
    elif item.kind == "destroy":
        if ok:
            _gone(server)
        else:
            server.vm_state, server.task_state = "error", None
            server.fault = {"code": 500, "message": f"delete failed: {result.get('error')}",
                            "created": isotime(now)}
    else:
        if ok:
            server.power_state = power
            server.vm_state = "stopped" if power == SHUTDOWN else "active"
        elif result.get("error"):
            server.fault = {"code": 500, "message": str(result.get("error")),
                            "created": isotime(now)}
        if server.task_state != "deleting":
            server.task_state = None
    server.updated_at = now


def on_host(s: Session, host: str) -> list[str]:
    """The servers the control plane places on `host` (what its agent may run)."""
    return list(s.scalars(select(Server.id).where(Server.host == host,
                                                  Server.deleted.is_(False))))
