"""MetadefService: the metadata definitions catalog (Glance's metadefs) in one object.

The API calls it with the caller's RequestContext; each call is one short transaction off the
event loop, so a refused request (bad body, duplicate, policy) changes nothing. Views are plain
dicts shaped as the Image API's metadefs section describes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ...db import Database
from ..context import RequestContext
from . import contents, namespaces, resource_types
from .schemas import SCHEMAS

T = TypeVar("T")


class MetadefService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        def job() -> T:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)

    @staticmethod
    def schema(name: str) -> dict[str, Any] | None:
        """The JSON schema served at /v2/schemas/metadefs/{name}, None for an unknown name."""
        make = SCHEMAS.get(name)
        return make() if make else None

    # ---------------------------------------------------------------- namespaces

    async def list_namespaces(self, ctx: RequestContext, params: list[tuple[str, str]]
                              ) -> tuple[list[dict[str, Any]], str | None]:
        return await self._run(namespaces.listing, ctx, params)

    async def create_namespace(self, ctx: RequestContext, body: Any) -> dict[str, Any]:
        return await self._run(namespaces.create, ctx, body)

    async def get_namespace(self, ctx: RequestContext, name: str,
                            resource_type: str | None = None) -> dict[str, Any]:
        return await self._run(namespaces.show, ctx, name, resource_type)

    async def update_namespace(self, ctx: RequestContext, name: str,
                               body: Any) -> dict[str, Any]:
        return await self._run(namespaces.update, ctx, name, body)

    async def delete_namespace(self, ctx: RequestContext, name: str) -> None:
        await self._run(namespaces.delete_namespace, ctx, name)

    async def delete_contents(self, ctx: RequestContext, name: str, kind: str) -> None:
        """kind: objects, properties or tags."""
        await self._run(namespaces.delete_contents, ctx, name, kind)

    # ---------------------------------------------------------------- objects

    async def list_objects(self, ctx: RequestContext, ns: str,
                           params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return await self._run(contents.list_objects, ctx, ns, params)

    async def create_object(self, ctx: RequestContext, ns: str, body: Any) -> dict[str, Any]:
        return await self._run(contents.create_object, ctx, ns, body)

    async def get_object(self, ctx: RequestContext, ns: str, name: str) -> dict[str, Any]:
        return await self._run(contents.get_object, ctx, ns, name)

    async def update_object(self, ctx: RequestContext, ns: str, name: str,
                            body: Any) -> dict[str, Any]:
        return await self._run(contents.update_object, ctx, ns, name, body)

    async def delete_object(self, ctx: RequestContext, ns: str, name: str) -> None:
        await self._run(contents.delete_object, ctx, ns, name)

    # ---------------------------------------------------------------- properties

    async def list_properties(self, ctx: RequestContext, ns: str) -> dict[str, Any]:
        return await self._run(contents.list_properties, ctx, ns)

    async def create_property(self, ctx: RequestContext, ns: str, body: Any) -> dict[str, Any]:
        return await self._run(contents.create_property, ctx, ns, body)

    async def get_property(self, ctx: RequestContext, ns: str, name: str,
                           resource_type: str | None = None) -> dict[str, Any]:
        return await self._run(contents.get_property, ctx, ns, name, resource_type)

    async def update_property(self, ctx: RequestContext, ns: str, name: str,
                              body: Any) -> dict[str, Any]:
        return await self._run(contents.update_property, ctx, ns, name, body)

    async def delete_property(self, ctx: RequestContext, ns: str, name: str) -> None:
        await self._run(contents.delete_property, ctx, ns, name)

    # ---------------------------------------------------------------- tags

    async def list_tags(self, ctx: RequestContext, ns: str,
                        params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return await self._run(contents.list_tags, ctx, ns, params)

    async def create_tag(self, ctx: RequestContext, ns: str, name: str) -> dict[str, Any]:
        return await self._run(contents.create_tag, ctx, ns, name)

    async def create_tags(self, ctx: RequestContext, ns: str, body: Any,
                          append: bool) -> list[dict[str, Any]]:
        return await self._run(contents.create_tags, ctx, ns, body, append)

    async def get_tag(self, ctx: RequestContext, ns: str, name: str) -> dict[str, Any]:
        return await self._run(contents.get_tag, ctx, ns, name)

    async def update_tag(self, ctx: RequestContext, ns: str, name: str,
                         body: Any) -> dict[str, Any]:
        return await self._run(contents.update_tag, ctx, ns, name, body)

    async def delete_tag(self, ctx: RequestContext, ns: str, name: str) -> None:
        await self._run(contents.delete_tag, ctx, ns, name)

    # ---------------------------------------------------------------- resource types

    async def list_resource_types(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return await self._run(resource_types.list_types, ctx)

    async def list_associations(self, ctx: RequestContext, ns: str) -> list[dict[str, Any]]:
        return await self._run(resource_types.associations, ctx, ns)

    async def associate(self, ctx: RequestContext, ns: str, body: Any) -> dict[str, Any]:
        return await self._run(resource_types.associate, ctx, ns, body)

    async def dissociate(self, ctx: RequestContext, ns: str, name: str) -> None:
        await self._run(resource_types.dissociate, ctx, ns, name)
