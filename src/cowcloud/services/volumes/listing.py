"""Listing volumes and snapshots: filters, sort (`sort=k:dir,...` or sort_key/sort_dir),
limit and marker, as Cinder's v3 list calls take them."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..paging import Descending, parse_limit
from . import checks
from .errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 1000  # Cinder's osapi_max_limit
PAGING = {"limit", "marker", "sort", "sort_key", "sort_dir", "with_count", "offset"}
_ALIASES = {"display_name": "name", "display_description": "description"}


def sort_keys(params: dict[str, str], allowed: Sequence[str]) -> list[tuple[str, str]]:
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise InvalidInput("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot "
                           "be used with the 'sort' parameter.")
    if "sort" in params:
        keys = []
        for part in params["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key.strip(), (direction or "desc").strip().lower()))
    else:
        keys = [(params.get("sort_key", "created_at"), params.get("sort_dir", "desc").lower())]
    # Cinder's older names for name and description (cinderclient and tempest still send them)
    keys = [(_ALIASES.get(k, k), d) for k, d in keys]
    for key, direction in keys:
        if key not in allowed:
            raise InvalidInput(f"Invalid sort key {key!r}: one of {', '.join(allowed)}")
        if direction not in ("asc", "desc"):
            raise InvalidInput(f"Invalid sort direction {direction!r}: asc or desc")
    if not any(k == "id" for k, _ in keys):
        keys.append(("id", keys[-1][1]))  # a total order, so markers are stable
    return keys


def sort_rows(rows: list[T], keys: list[tuple[str, str]],
              value: Callable[[T, str], Any]) -> list[T]:
    def key(row: T) -> tuple[Any, ...]:
        out = []
        for k, direction in keys:
            v = value(row, k)
            v = (v is not None, v if v is not None else 0)
            out.append(Descending(v) if direction == "desc" else v)
        return tuple(out)
    return sorted(rows, key=key)


def page(rows: list[T], params: dict[str, str], row_id: Callable[[T], str],
         not_found: Callable[[str], Exception]) -> tuple[list[T], bool]:
    """The page after `marker`, of `limit` rows; True when more rows follow."""
    start = 0
    if "marker" in params:
        marker = checks.canonical_id(params["marker"]) or params["marker"]
        ids = [row_id(r) for r in rows]
        if marker not in ids:
            raise not_found(params["marker"])
        start = ids.index(marker) + 1
    if "offset" in params:  # rows skipped after the marker, as Cinder's query offset
        try:
            offset = int(params["offset"])
        except ValueError:
            offset = -1
        if offset < 0:
            raise InvalidInput(f"offset must be a whole number, not {params['offset']!r}")
        start += offset
    limit = parse_limit(params["limit"], MAX_LIMIT) if "limit" in params else MAX_LIMIT
    chunk = rows[start:start + limit]
    # Cinder links a next page whenever this one is full, even if the next will be empty
    return chunk, bool(chunk) and len(chunk) == limit


def metadata_filter(value: str) -> dict[str, str]:
    """JSON, or a Python dict literal as Cinder also takes (tempest and older clients send
    `{'k': 'v'}`: Cinder reads the filter with ast.literal_eval)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise InvalidInput(f"metadata filter is not a JSON object: {value!r}") from None
    return checks.metadata(parsed, "metadata filter")


def check_known(params: dict[str, str], known: set[str], version: tuple[int, int]) -> None:
    """From 3.31 on, Cinder refuses filters it does not know (resource_filters.json)."""
    unknown = sorted(set(params) - known - PAGING)
    if unknown and version >= (3, 31):
        raise InvalidInput(f"Invalid filters {', '.join(unknown)} are found in query options.")
