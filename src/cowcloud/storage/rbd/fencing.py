"""Fencing: `ceph osd blocklist add / rm / ls` as mon commands, and the client's own identity.

A blocklisted client's requests are refused by the OSDs (EBLOCKLISTED, which is ESHUTDOWN:
mapped to Fenced in _errors.py). Blocklisting needs the mon cap `profile rbd` (it allows
`osd blocklist`); the legacy `allow r` caps lack it, and the refusal is PermissionDenied.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime

from ..base import check_expiry
from ..contract import BlocklistEntry
from ..errors import InvalidArgument, NotFound
from ._errors import error_for_errno
from .cluster import RbdCluster

# What `ceph osd blocklist add` parses (entity_addr_t): an optional messenger type, an IP (v6
# in brackets), then an optional port and nonce. Port 0 and nonce 0 (or none) mean every client
# of that host: the OSDs match a whole IP as well as one instance.
_ADDR = re.compile(r"^(?:(?:any|v1|v2):)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+))"
                   r"(?::(?P<port>\d{1,5}))?(?:/(?P<nonce>\d{1,10}))?$")


def parse_addr(client: str) -> tuple[str, int, int]:
    """(ip, port, nonce) of a client address; InvalidArgument if it is none."""
    m = _ADDR.match(client) if isinstance(client, str) else None
    if m is None:
        raise InvalidArgument(f"invalid client address {client!r}: use a client id as "
                              "client_id() or a lock owner gives it (IP:PORT/NONCE), or an IP "
                              "for every client of that host")
    try:
        ip = str(ipaddress.ip_address(m["v6"] or m["v4"]))
    except ValueError:
        raise InvalidArgument(f"invalid client address {client!r}: bad IP") from None
    return ip, int(m["port"] or 0), int(m["nonce"] or 0)


def covers(target: str, client: str) -> bool:
    """True if blocklisting `target` refuses `client` (the same instance, or its whole host)."""
    ip, port, nonce = parse_addr(target)
    cip, cport, cnonce = parse_addr(client)
    return ip == cip and ((port, nonce) == (0, 0) or (port, nonce) == (cport, cnonce))


def _until(text: str) -> datetime:
    # The mon writes "2026-12-07T12:08:33.386326+0000"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class FenceOps:
    """The contract's fencing operations; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def client_id(self) -> str:
        """This connection's instance address: what its locks show, and what fences it."""
        return self.cluster.address

    async def blocklist(self, client: str, expire_seconds: float | None = None) -> None:
        """Blocklists a client (an instance address, or an IP for its whole host) for
        `expire_seconds` (the cluster's default, one hour, when None). A client listed already
        keeps its entry and expiry: the mon only inserts new entries."""
        cluster = self.cluster
        parse_addr(client)
        expire = check_expiry(expire_seconds)
        if covers(client, cluster.address):
            # It would cut this connection off, and every device of the cluster with it.
            raise InvalidArgument(f"refusing to blocklist {client}: it is this connection "
                                  f"({cluster.address}) or its host")
        cmd: dict[str, object] = {"prefix": "osd blocklist", "blocklistop": "add",
                                  "addr": client}
        if expire is not None:
            cmd["expire"] = expire
        await cluster.mon_command(cmd, what=f"blocklist {client}")

    async def unblocklist(self, client: str) -> None:
        """Removes a blocklist entry (spelled as given to blocklist, or as listed); NotFound if
        there is none. The client's connection works again; images it had open stay refused."""
        parse_addr(client)
        cluster = self.cluster

        def job() -> None:
            ret, _out, status = cluster.rados.mon_command(
                json.dumps({"prefix": "osd blocklist", "blocklistop": "rm", "addr": client}),
                b"", timeout=max(1, round(cluster.timeouts.mon_op)))
            if ret != 0:
                raise error_for_errno(ret, f"unblocklist {client}: {status}")
            # An absent entry is a success to the mon, which only says so in words.
            if "isn't blocklisted" in status:
                raise NotFound(f"{client} is not blocklisted")
        await cluster.call(job, what=f"unblocklist {client}")

    async def blocklisted(self) -> list[BlocklistEntry]:
        cluster = self.cluster
        return await cluster.call(lambda: listed(cluster), what="list the blocklist")


def listed(cluster: RbdCluster) -> list[BlocklistEntry]:
    """The cluster's blocklist; only inside executor jobs."""
    ret, out, status = cluster.rados.mon_command(
        json.dumps({"prefix": "osd blocklist ls", "format": "json"}), b"",
        timeout=max(1, round(cluster.timeouts.mon_op)))
    if ret != 0:
        raise error_for_errno(ret, f"list the blocklist: {status}")
    # Pacific answers two JSON lists back to back (addresses, then CIDR ranges): read the
    # first, which holds the entries blocklist() makes.
    entries, _ = json.JSONDecoder().raw_decode(bytes(out).decode() or "[]")
    return sorted((BlocklistEntry(e["addr"], _until(e["until"])) for e in entries),
                  key=lambda e: e.client)
