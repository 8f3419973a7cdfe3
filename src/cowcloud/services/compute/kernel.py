"""Direct kernel boot, as Nova's libvirt driver does it for an image whose properties name a
kernel (`kernel_id`, an image of disk format aki) and a ramdisk (`ramdisk_id`, ari): the guest
starts that kernel with that initrd, and the root disk is only a disk. The command line is the
image's `os_command_line`, else Nova's default (root on the first disk, console everywhere).

The control plane resolves both images when a server is created, rebuilt or evacuated and hands
the agent what it needs to fetch them (id, size, checksum, copies); the agent fetches each once
per host into its cache (agent/boot.py)."""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..errors import NotFound
from ..images import ImageService
from .errors import BadRequest

# nova/virt/libvirt/driver.py: "root=%s %s" % (root_device_name, CONSOLE)
DEFAULT_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0 console=hvc0"
PARTS = (("kernel_id", "aki", "kernel"), ("ramdisk_id", "ari", "ramdisk"))


async def boot_of(images: ImageService, ctx: RequestContext | None, image: Any
                  ) -> dict[str, Any] | None:
    """The `boot` of a spawn's work: None when the image boots from its own disk. A ramdisk
    without a kernel is ignored (as Nova does); a kernel or ramdisk that is missing, not
    active or of the wrong disk format is the request's error."""
    props = image.properties or {}
    if not props.get("kernel_id"):
        return None
    boot: dict[str, Any] = {"cmdline": props.get("os_command_line") or DEFAULT_CMDLINE,
                            "kernel": None, "ramdisk": None}
    for prop, fmt, key in PARTS:
        ref = props.get(prop)
        if not ref:
            continue
        try:
            part = await (images.source(ctx, ref) if ctx is not None
                          else images.source_now(ref))
        except NotFound:
            raise BadRequest(f"Image {image.id} names {prop} {ref}, which could not be "
                             "found.") from None
        if part.disk_format != fmt:
            raise BadRequest(f"Image {image.id} names {prop} {ref}, whose disk format is "
                             f"{part.disk_format}, not {fmt}.")
        if not part.copies:
            raise BadRequest(f"Image {image.id} names {prop} {ref}, which has no data.")
        boot[key] = {"id": part.id, "size": part.size, "checksum": part.checksum,
                     "copies": [{"cluster_id": c.cluster_id, "pool": c.pool,
                                 "device": c.device} for c in part.copies]}
    return boot


async def boot_of_server(images: ImageService, image_id: str | None) -> dict[str, Any] | None:
    """For work on an existing server (evacuate): its image's kernel, looked up as the
    service itself. A server whose own image is gone boots from its disk."""
    if not image_id:
        return None
    try:
        image = await images.source_now(image_id)
    except NotFound:
        return None
    return await boot_of(images, None, image)
