"""The image's fields once its data has landed in a store, converted to raw where RBD needs it.

Hashes when data is converted (a qcow2 uploaded into an rbd store, say). Two kinds of clients
check two different things, and both must keep working:
- openstacksdk (`openstack image create --file`) compares `checksum` with the md5 of the file it
  sent, and deletes the image when they differ;
- glanceclient, openstacksdk, Nova and Cinder verify every download against `os_hash_value`
  (sha512 by default), falling back to `checksum` only when there is no os_hash_value.
So `checksum` stays the md5 of what the user uploaded, and `os_hash_algo`/`os_hash_value`,
`size`, `virtual_size` and `disk_format` (raw) describe the bytes stored and served. A download
returns the raw image, which verifies; Content-MD5 is sent only when it equals `checksum`. What
the user uploaded is kept in os_glance_uploaded_{disk_format,size,os_hash_value} (reserved names:
no client can set them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...block import devices
from ...block.ingest import Received
from ...block.taps import HASH_ALGO
from ...db.models import Image
from ...storage import BaseBackend, DeviceRef, conversion
from .env import Env
from .model import UPLOADED_FORMAT, UPLOADED_HASH, UPLOADED_SIZE, set_prop
from .stores import Store


@dataclass(frozen=True)
class Landed:
    size: int
    virtual_size: int
    checksum: str
    os_hash_value: str
    disk_format: str | None
    properties: dict[str, str] = field(default_factory=dict)
    os_hash_algo: str = HASH_ALGO

    @classmethod
    def as_received(cls, rec: Received, disk_format: str | None) -> Landed:
        # qemu's word where it read the data; a header qemu does not read gives no size
        virtual = rec.virtual_size if rec.virtual_size else rec.size
        return cls(rec.size, virtual, rec.checksum, rec.os_hash_value, disk_format,
                   os_hash_algo=rec.os_hash_algo)

    def to_meta(self) -> dict[str, object]:
        return {"size": self.size, "virtual_size": self.virtual_size, "checksum": self.checksum,
                "os_hash_algo": self.os_hash_algo, "os_hash_value": self.os_hash_value,
                "disk_format": self.disk_format, "properties": self.properties}

    @classmethod
    def from_meta(cls, meta: dict[str, object]) -> Landed:
        return cls(int(meta["size"]), int(meta["virtual_size"]),  # type: ignore[call-overload]
                   str(meta["checksum"]), str(meta["os_hash_value"]),
                   meta.get("disk_format"),  # type: ignore[arg-type]
                   dict(meta.get("properties") or {}),  # type: ignore[call-overload]
                   str(meta.get("os_hash_algo", HASH_ALGO)))


def needs_conversion(env: Env, disk_format: str | None, store: Store) -> bool:
    """RBD cannot boot qcow2 (or vmdk, vhd...): a shared (Ceph) store holds only raw."""
    return (env.settings.image.convert_to_raw_for_rbd and store.backend.info.shared
            and conversion.convertible(disk_format))


def conversion_refused(disk_format: str | None, store: str) -> str:
    # A copy keeps the image's bytes: it cannot make them raw in one store and leave them
    # qcow2 in the others (one image, one checksum), so an rbd store refuses the copy.
    return (f"store {store} holds only raw images, and this image is {disk_format}: import it "
            "again (glance-direct or web-download) to have it converted, then copy that")


async def convert_into(env: Env, store: Store, image_id: str, src: BaseBackend,
                       src_dev: DeviceRef, uploaded: Landed) -> Landed:
    """Writes the raw conversion of src_dev (the uploaded bytes, wherever they lie) into the
    image's device in `store`, sealed (block.devices.convert_to_raw); on failure nothing of it
    is left, and the caller discards what else the write left (env.discard)."""
    assert uploaded.disk_format is not None
    dst = store.device(image_id)
    await devices.convert_to_raw(src, src_dev, uploaded.disk_format, store.backend, dst,
                                 size_cap=env.settings.image.size_cap)
    # Stored and uploaded hashes in one algorithm, the upload's, whatever the config says now.
    size, _md5, sha = await devices.hash_device(store.backend, dst, uploaded.os_hash_algo)
    return Landed(size=size, virtual_size=size, checksum=uploaded.checksum, os_hash_value=sha,
                  disk_format="raw", properties={UPLOADED_FORMAT: uploaded.disk_format,
                                                 UPLOADED_SIZE: str(uploaded.size),
                                                 UPLOADED_HASH: uploaded.os_hash_value},
                  os_hash_algo=uploaded.os_hash_algo)


def apply(image: Image, landed: Landed) -> None:
    """Sets the image's data fields from what landed (the caller sets the status)."""
    image.size = landed.size
    image.virtual_size = landed.virtual_size
    image.checksum = landed.checksum
    image.os_hash_algo = landed.os_hash_algo
    image.os_hash_value = landed.os_hash_value
    image.disk_format = landed.disk_format
    for key, value in landed.properties.items():
        set_prop(image, key, value)
