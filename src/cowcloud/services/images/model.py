"""The image as the Image API v2 describes it: fields, formats, statuses, and the view of a row.

Glance keeps the rules in several places (domain, schema, request deserializer); here they are one
table each. The view leaves out what only the HTTP layer knows (`self`, `file`, `schema`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ...db.models import Image, ImageProperty
from .stores import RESERVED_PREFIX

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated")

# IMG-01: glance/domain Image.valid_state_targets.
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"saving", "uploading", "importing", "active", "deleted"}),
    "saving": frozenset({"active", "killed", "deleted", "queued"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "deleted", "queued"}),
    "active": frozenset({"pending_delete", "deleted", "deactivated"}),
    "killed": frozenset({"deleted"}),
    "pending_delete": frozenset({"deleted", "active"}),
    "deactivated": frozenset({"active", "deleted"}),
    "deleted": frozenset(),
}

# Columns of the images table that the API shows as top-level attributes.
BASE_ATTRIBUTES = ("name", "disk_format", "container_format", "visibility", "size",
                   "virtual_size", "status", "checksum", "protected", "min_ram", "min_disk",
                   "owner", "os_hidden", "os_hash_algo", "os_hash_value")
READ_ONLY = frozenset({"id", "status", "checksum", "os_hash_algo", "os_hash_value", "size",
                       "virtual_size", "created_at", "updated_at", "direct_url", "self", "file",
                       "schema", "stores", "locations"})
RESERVED = frozenset({"location", "deleted", "deleted_at"})
WRITABLE_BASE = frozenset({"name", "visibility", "protected", "os_hidden", "owner",
                           "container_format", "disk_format", "min_ram", "min_disk", "tags"})

PROPERTY_QUOTA = 128  # Glance's image_property_quota
TAG_QUOTA = 128  # Glance's image_tag_quota

# Import progress properties (IMP-06) and the import lock (IMP-08): set by cowcloud only.
IMPORTING = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"
IMPORT_TASK = "os_glance_import_task"
# What the user sent, kept when the stored data is a conversion of it (see landing.py).
UPLOADED_FORMAT = "os_glance_uploaded_disk_format"
UPLOADED_SIZE = "os_glance_uploaded_size"
UPLOADED_HASH = "os_glance_uploaded_os_hash_value"


def isotime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_reserved(key: str) -> bool:
    return key in RESERVED or key.startswith(RESERVED_PREFIX)


def _is_active(loc: Any) -> bool:
    return loc.status == "active" and not loc.store.startswith(RESERVED_PREFIX)


def active_locations(image: Image) -> list[Any]:
    """The locations clients see: finished copies in configured stores, first one first."""
    return [loc for loc in image.locations if _is_active(loc)]


def by_weight(locations: list[Any], weights: Mapping[str, int]) -> list[Any]:
    """Heaviest store first (Glance's store weights); equal weights keep their order."""
    return sorted(locations, key=lambda loc: -weights.get(loc.store, 0))


def view(image: Image, *, show_locations: bool = True,
         weights: Mapping[str, int] | None = None) -> dict[str, Any]:
    columns = {key: getattr(image, key) for key in (*BASE_ATTRIBUTES, *TIMES)}
    columns["id"] = image.id
    return compose(columns, [(p.name, p.value) for p in image.properties],
                   [t.value for t in image.tags], image.locations,
                   show_locations=show_locations, weights=weights)


TIMES = ("created_at", "updated_at")


def compose(columns: Mapping[str, Any], properties: Iterable[tuple[str, str]],
            tags: Iterable[str], locations: Iterable[Any], *, show_locations: bool = True,
            weights: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The view of an image from its parts: `columns` maps the images table's columns (of an ORM
    row, or a Core row's mapping), `locations` have store, url and status, in the order they
    were added. One function for both, so that the Core read path cannot drift from the ORM's."""
    out: dict[str, Any] = dict(properties)
    for key in BASE_ATTRIBUTES:
        out[key] = columns[key]
    out["id"] = columns["id"]
    out["created_at"] = isotime(columns["created_at"])
    out["updated_at"] = isotime(columns["updated_at"])
    out["tags"] = sorted(tags)
    shown = by_weight([loc for loc in locations if _is_active(loc)], weights or {})
    if shown:
        out["stores"] = ",".join(loc.store for loc in shown)
    if show_locations:
        out["locations"] = [{"url": loc.url, "metadata": {"store": loc.store}}
                            for loc in shown]
        if shown:
            out["direct_url"] = shown[0].url
    return out


def prop(image: Image, name: str) -> str | None:
    for p in image.properties:
        if p.name == name:
            return p.value
    return None


def set_prop(image: Image, name: str, value: str | None) -> None:
    """Sets (or, with None, removes) an extra property on a loaded image row."""
    for p in list(image.properties):
        if p.name == name:
            if value is None:
                image.properties.remove(p)
            else:
                p.value = value
            return
    if value is not None:
        image.properties.append(ImageProperty(name=name, value=value))
