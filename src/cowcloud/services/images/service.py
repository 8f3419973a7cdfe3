"""ImageService: the image domain behind the Image API v2, in one object the API calls.

Each method takes the caller's RequestContext, checks policy (services.policy, via access.py) and
returns plain dicts shaped as the Image API describes them; the API adds only the URLs. Database
work runs in short transactions off the event loop (Env.run); bytes move in data.py,
import_task.py and deletion.py.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...db.models import Image
from ...storage import DeviceRef, SnapRef
from ...storage.base import BaseBackend
from ...storage.registry import Clusters
from ...tasks import TaskRecord, TaskRunner
from ..context import RequestContext
from ..policy import enforce
from . import (
    access,
    catalog,
    data,
    deletion,
    from_device,
    importing,
    members,
    reads,
    recovery,
    task_api,
)
from .copies import SYSTEM, ImageSource, copy_into, image_source, store_in_cluster
from .deletion import ReapTask
from .env import REAP_KIND, Env
from .import_task import ImportTask
from .listing import ListQuery, page_ids, parse_query
from .model import isotime, view
from .patch import PATCH_TYPES, parse_patch
from .read_cache import ReadCache, caller_key
from .stores import CHUNK_SIZE, Stores

IMPORT_METHODS = importing.METHODS
# Threads of the list and show reads. Twenty reads at once on the shared executor's threads
# make them and the event loop take the GIL from each other at every step, which costs more CPU
# than the reads themselves; a read waits on the database only for moments (SQLite in-process,
# PostgreSQL on a short round trip), so a few threads keep up with what one core can answer.
READ_THREADS = 2
T = TypeVar("T")


class ImageService:
    def __init__(self, settings: Settings, db: Database, clusters: Clusters,
                 tasks: TaskRunner) -> None:
        self.env = Env(settings, db, Stores(Targets(settings, clusters)), tasks)
        self._clusters = clusters
        self._sweeper: asyncio.Task[None] | None = None
        self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="image-read")
        self.read_cache = ReadCache(db)
        clusters.on_open(self._recover_cluster)
        tasks.register(importing.TASK_KIND, ImportTask(self.env))
        tasks.register(REAP_KIND, ReapTask(self.env))
        tasks.register(task_api.LEGACY_KIND, task_api.LegacyImportTask(self.env))

    @property
    def stores(self) -> Stores:
        return self.env.stores

    async def start(self) -> None:
        """The stores (over clusters that may still be opening), and periodic recovery; each
        cluster is recovered as it opens (_recover_cluster). The runner starts after this."""
        self.env.stores.load()
        if self.env.settings.image_stores:
            self._sweeper = asyncio.create_task(
                recovery.keep_sweeping(self.env, self._clusters.is_open), name="image-recovery")

    async def stop(self, grace: float = 5) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.wait([sweeper], timeout=grace)
        self._readers.shutdown(wait=False)
        self.read_cache.close()

    async def _recover_cluster(self, name: str, _backend: BaseBackend) -> None:
        if self.env.settings.image_stores:
            await recovery.sweep(self.env, self._clusters.is_open, cluster=name,
                                 all_deleting=True)

    def _view(self, ctx: RequestContext, image: Image) -> dict[str, Any]:
        return view(image, **self._view_options(ctx))

    def _view_options(self, ctx: RequestContext) -> dict[str, Any]:
        return {"weights": self.env.stores.weights(),
                "show_locations": self.env.settings.image.locations_visible(ctx.is_admin)}

    async def _read(self, fn: Any, ctx: RequestContext, *args: Any) -> dict[str, Any]:
        return await self.env.run(lambda s: self._view(ctx, fn(s, ctx, *args)))

    # ---------------------------------------------------------------- records

    async def create(self, ctx: RequestContext, body: Any) -> dict[str, Any]:
        return await self._read(catalog.create, ctx, body)

    async def get(self, ctx: RequestContext, image_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._kept(("show", image_id), 1, self.show_in, ctx,
                                                 image_id)
        return dict(found)  # the caller adds its URLs to it; the kept one stays as it is

    async def _kept(self, key: tuple[Any, ...], views: int, fn: Callable[..., T],
                    ctx: RequestContext, *args: Any) -> T:
        """fn(s, ctx, *args) on the read threads, or its answer to the same call by the same
        caller when nothing was written since (read_cache.py), looked up on the event loop.
        Errors are never kept: they are raised again."""
        key = (*key, caller_key(ctx))
        found, generation = self.read_cache.lookup(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = await self._read_only(fn, ctx, *args)
        self.read_cache.store(key, value, generation, views)
        return value

    async def _read_only(self, fn: Callable[..., T], *args: Any) -> T:
        """Env.run on the read threads (READ_THREADS)."""
        def job() -> T:
            with self.env.db.session() as s:
                return fn(s, *args)
        call = contextvars.copy_context().run  # the request id, for the log lines
        return await asyncio.get_running_loop().run_in_executor(self._readers, call, job)

    # The read paths go through reads.py (Core rows, no ORM objects): the hot routes.
    def show_in(self, s: Session, ctx: RequestContext, image_id: str) -> dict[str, Any]:
        return reads.show(s, ctx, image_id, **self._view_options(ctx))

    def list_in(self, s: Session, ctx: RequestContext, q: ListQuery
                ) -> tuple[list[dict[str, Any]], str | None]:
        ids, marker = page_ids(s, ctx, q)
        return reads.views(s, ids, **self._view_options(ctx)), marker

    async def list_images(self, ctx: RequestContext, params: list[tuple[str, str]]
                   ) -> tuple[list[dict[str, Any]], str | None]:
        q = parse_query(params)  # a bad query is refused before anything is looked up
        found, marker = await self._kept(("list", tuple(params)), q.limit, self.list_in, ctx, q)
        return [dict(view) for view in found], marker

    async def update(self, ctx: RequestContext, image_id: str, body: Any,
                     content_type: str) -> dict[str, Any]:
        changes = parse_patch(body, PATCH_TYPES[content_type])
        return await self._read(catalog.update, ctx, image_id, changes)

    async def delete(self, ctx: RequestContext, image_id: str) -> None:
        await deletion.delete_image(self.env, ctx, image_id)

    async def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        await self.env.run(catalog.add_tag, ctx, image_id, tag)

    async def delete_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        await self.env.run(catalog.delete_tag, ctx, image_id, tag)

    async def deactivate(self, ctx: RequestContext, image_id: str) -> None:
        await self.env.run(catalog.deactivate, ctx, image_id)

    async def reactivate(self, ctx: RequestContext, image_id: str) -> None:
        await self.env.run(catalog.reactivate, ctx, image_id)

    # ---------------------------------------------------------------- members

    async def add_member(self, ctx: RequestContext, image_id: str, body: Any) -> dict[str, Any]:
        return await self.env.run(lambda s: members.view(members.add(s, ctx, image_id, body)))

    async def list_members(self, ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
        return await self.env.run(
            lambda s: [members.view(m) for m in members.listing(s, ctx, image_id)])

    async def get_member(self, ctx: RequestContext, image_id: str,
                         member_id: str) -> dict[str, Any]:
        return await self.env.run(
            lambda s: members.view(members.get(s, ctx, image_id, member_id)))

    async def update_member(self, ctx: RequestContext, image_id: str, member_id: str,
                            body: Any) -> dict[str, Any]:
        return await self.env.run(
            lambda s: members.view(members.update(s, ctx, image_id, member_id, body)))

    async def remove_member(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        await self.env.run(members.remove, ctx, image_id, member_id)

    # ---------------------------------------------------------------- data

    async def upload(self, ctx: RequestContext, image_id: str, chunks: AsyncIterable[bytes], *,
                     store: str | None, size: int | None) -> None:
        await data.upload(self.env, ctx, image_id, chunks, store_name=store, size=size)

    async def stage(self, ctx: RequestContext, image_id: str, chunks: AsyncIterable[bytes], *,
                    size: int | None) -> None:
        await data.stage(self.env, ctx, image_id, chunks, size=size)

    async def download(self, ctx: RequestContext, image_id: str,
                       byte_range: tuple[int | None, int | None] | None,
                       prefer: tuple[str, ...] = ()) -> data.Download | None:
        return await data.download(self.env, ctx, image_id, byte_range, prefer)

    async def import_image(self, ctx: RequestContext, image_id: str, body: Any,
                           header_store: str | None) -> str | None:
        return await importing.request_import(self.env, ctx, image_id, body, header_store)

    async def delete_from_store(self, ctx: RequestContext, store: str, image_id: str) -> None:
        await deletion.delete_from_store(self.env, ctx, store, image_id)

    async def image_tasks(self, ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
        image_id = await self.env.run(lambda s: access.load(s, ctx, image_id).id)
        tasks = self.env.tasks.for_resource(image_id, importing.TASK_KIND)
        return [task_view(t) for t in tasks]

    # ---------------------------------------------------------------- /v2/tasks

    async def create_task(self, ctx: RequestContext, body: Any) -> dict[str, Any]:
        return await task_api.create_task(self.env, ctx, body)

    def get_task(self, ctx: RequestContext, task_id: str) -> dict[str, Any]:
        return task_api.get_task(self.env, ctx, task_id)

    def list_tasks(self, ctx: RequestContext, params: list[tuple[str, str]]
                   ) -> tuple[list[dict[str, Any]], str | None]:
        return task_api.list_tasks(self.env, ctx, params)

    # ---------------------------------------------------------------- discovery

    async def source(self, ctx: RequestContext, image_id: str) -> ImageSource:
        """The image and where its copies are, for another domain (copies.py)."""
        return await self.env.run(image_source, ctx, self.env.stores, image_id)

    async def source_now(self, image_id: str) -> ImageSource:
        """As source(), for work that runs later than the request that asked (no caller)."""
        return await self.env.run(image_source, SYSTEM, self.env.stores, image_id)

    def store_in_cluster(self, cluster: str) -> str | None:
        return store_in_cluster(self.env.stores, cluster)

    async def copy_into(self, image_id: str, store: str) -> str | None:
        """Queues a copy of the image into `store`, as the service itself (copies.py)."""
        return await copy_into(self.env, image_id, store)

    def has_store(self, name: str) -> bool:
        return name in self.env.stores

    async def fill_from_device(self, image_id: str, store: str, src: BaseBackend,
                               src_dev: DeviceRef, src_snap: SnapRef, task_id: str) -> None:
        """The image's data := src_snap's bytes, in `store` (from_device.py); for a task of
        another domain (a volume uploaded to an image), whose id the pending row names."""
        await from_device.fill(self.env, image_id, store, src, src_dev, src_snap, task_id)

    async def discard(self, image_id: str) -> None:
        """Deletes an image the service itself made for work that failed (as SYSTEM)."""
        await deletion.delete_image(self.env, SYSTEM, image_id)

    def store_names(self) -> list[str]:
        return self.env.stores.names()

    def stores_info(self, ctx: RequestContext, detail: bool = False) -> list[dict[str, Any]]:
        enforce(ctx, "image:info_stores_detail" if detail else "image:info_stores",
                {"project_id": ctx.project_id})
        out = []
        # as Glance: the weights show once configured (the detail view always has them)
        weighted = any(self.env.stores.weights().values())
        for st in self.env.stores.all():
            item: dict[str, Any] = {"id": st.name}
            if weighted or detail:
                item["weight"] = st.weight
            if st.description:
                item["description"] = st.description
            if st.default:
                item["default"] = "true"
            if detail:
                props: dict[str, Any] = {"pool": st.pool, "chunk_size": CHUNK_SIZE,
                                         "thin_provisioning": True, "cluster": st.cluster}
                # a cluster that has not opened yet has not told its id: left out until it does
                if st.backend.available:
                    props["fsid" if st.kind == "rbd" else "cluster_id"] = st.cluster_id
                item.update(type=st.kind, properties=props)
            out.append(item)
        return out


def task_view(t: TaskRecord) -> dict[str, Any]:
    """A task as Glance's GET /v2/images/{id}/tasks shows it (plus per-store progress)."""
    inp = t.input
    return {
        "id": t.id, "type": t.kind, "status": t.status, "owner": t.owner,
        "image_id": inp.get("image_id"), "user_id": inp.get("user_id"),
        "request_id": inp.get("request_id"),
        "input": {"image_id": inp.get("image_id"), "backend": inp.get("stores"),
                  "import_req": inp.get("import_req") or {  # tasks queued before it was kept
                      "method": inp.get("method"), "stores": inp.get("stores"),
                      "all_stores_must_succeed": inp.get("all_stores_must_succeed")}},
        "result": t.result or None, "message": t.message,
        "progress": t.state.get("progress", {}),
        "created_at": isotime(t.created_at), "updated_at": isotime(t.updated_at),
        "expires_at": None,
    }
