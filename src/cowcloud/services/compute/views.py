"""Flavors, aggregates, services and hypervisors as the Compute API shows them, per
microversion (2.1 to MAX_VERSION)."""

from __future__ import annotations

from datetime import datetime, timezone

MIN_VERSION = (2, 1)
# 2.88 drops the CPU, RAM and disk figures from hypervisors and their statistics: the figures
# the 000 guide is about (a host counted twice). Up to 2.87 every client keeps seeing them.
MAX_VERSION = (2, 87)
Version = tuple[int, int]
GiB = 1 << 30


def isotime(value: datetime | None) -> str | None:
    """Nova's timestamps: no zone suffix, microseconds (e.g. 2015-09-14T09:55:09.000000)."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base: str, kind: str, item_id: str) -> list[dict[str, str]]:
    root = base.rsplit("/v2.1", 1)[0]
    return [{"rel": "self", "href": f"{base}/{kind}/{item_id}"},
            {"rel": "bookmark", "href": f"{root}/{kind}/{item_id}"}]


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def fraction_gib(n: int) -> int:
    return n // GiB
