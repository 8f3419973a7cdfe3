"""web-download: fetching an image from a URL without becoming a proxy into private networks.

Only the configured schemes (http, https). The host is resolved here and every address it has
must be public: loopback, link-local (cloud metadata at 169.254.169.254), private, multicast and
reserved ranges are refused unless `[image] web_download_allow_private` is set. The connection
then goes to the address that was checked (with the original Host header, and the original name
for TLS), so a DNS answer that changes between check and connect cannot redirect it. Redirects
are followed by hand, each hop checked the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx

from ...config import ImageSettings
from .errors import Invalid

MAX_REDIRECTS = 5
CHUNK = 1 << 20


class UrlRefused(Invalid):
    """The URL may not be fetched (scheme, address, or an unresolvable host)."""


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UrlRefused(f"URI host {host!r} cannot be resolved: {exc.strerror}") from None
    except (UnicodeError, ValueError):  # idna: a label over 63 characters, NUL, ...
        raise UrlRefused(f"URI host {host!r} is not a valid host name") from None
    return sorted({str(info[4][0]) for info in infos})


def _public(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    # is_global also refuses what is_private misses, e.g. 100.64.0.0/10 (shared address space)
    return ip.is_global and not (ip.is_loopback or ip.is_link_local or ip.is_private
                                 or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def check(url: str, settings: ImageSettings) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for an acceptable URL; UrlRefused if not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(f"URI for web-download is malformed: {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in settings.web_download_schemes:
        raise UrlRefused(f"URI for web-download does not pass filtering: scheme {scheme!r} is "
                         f"not allowed (allowed: {', '.join(settings.web_download_schemes)})")
    host = parts.hostname
    if not host:
        raise UrlRefused(f"URI for web-download has no host: {url!r}")
    port = port or (443 if scheme == "https" else 80)
    addrs = _addresses(host, port)
    if not settings.web_download_allow_private:
        bad = [a for a in addrs if not _public(a)]
        if bad:
            raise UrlRefused(f"URI for web-download does not pass filtering: {host} resolves to "
                             f"a loopback, link-local or private address ({', '.join(bad)})")
    return scheme, host, port, addrs[0]


@asynccontextmanager
async def fetch(url: str, settings: ImageSettings
                ) -> AsyncIterator[tuple[int | None, AsyncIterator[bytes]]]:
    """(Content-Length or None, body chunks) of the URL, redirects followed and checked."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(60, read=300),
                                 trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            scheme, host, port, addr = await asyncio.to_thread(check, url, settings)
            parts = urlsplit(url)
            netloc = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
            pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
            request = client.build_request(
                "GET", pinned, headers={"Host": parts.netloc.rpartition("@")[2]},
                extensions={"sni_hostname": host} if scheme == "https" else {})
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = str(httpx.URL(url).join(response.headers["location"]))
                    continue
                if response.status_code != 200:
                    raise Invalid(f"web-download of {url} failed: HTTP {response.status_code}")
                length = response.headers.get("content-length")
                yield (int(length) if length and length.isdigit() else None,
                       response.aiter_bytes(CHUNK))
                return
            finally:
                await response.aclose()
        raise Invalid(f"web-download of {url}: more than {MAX_REDIRECTS} redirects")
