"""The import task (`api_image_import`): glance-direct, web-download and copy-image.

Targets are written in parallel. Each gets its `pending` location row (naming this task) before
any byte is written, so a run interrupted by a crash is cleaned up by the next run of the same task
(`_clean`), which then resumes with the stores that are not active yet; a resumed web-download
fetches again unless its stage had completed. Progress per store (bytes, total) is saved in the
task's state about once a second.

IMP-07: with all_stores_must_succeed (the default) new locations become visible together at the
end, and any failure removes every copy this task wrote; without it each store is activated as it
finishes (the image turns active with the first) and the task fails only if all fail. IMP-06:
os_glance_importing_to_stores loses each store as it finishes, os_glance_failed_import gains
each store that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ...block import devices, ingest
from ...db.models import Image
from ...errors import Error
from ...storage import BaseBackend, DeviceRef, SnapRef, Undo
from ...storage.contract import Progress
from ...storage.errors import Busy
from ...tasks import Control, Retry, TaskRecord
from . import webdl
from .data import finish_stage
from .env import ACTIVE, PENDING, STAGED, Env, image_row, location
from .errors import Invalid
from .landing import Landed, apply, conversion_refused, convert_into, needs_conversion
from .model import FAILED_IMPORT, IMPORT_TASK, IMPORTING, prop, set_prop
from .stores import SNAP, STAGING_STORE, Store

log = logging.getLogger("cowcloud.images")

Source = tuple[BaseBackend, DeviceRef, SnapRef | None]


@dataclass
class ImageState:
    id: str
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    active: dict[str, dict[str, Any]]  # store -> location meta
    stage: dict[str, Any] | None  # the staging row's meta, once staged


def _state(s: Session, image_id: str) -> ImageState | None:
    image = image_row(s, image_id)
    if image is None:
        return None
    active = {loc.store: dict(loc.meta) for loc in image.locations
              if loc.status == ACTIVE and loc.store != STAGING_STORE}
    staged = next((dict(loc.meta) for loc in image.locations
                   if loc.store == STAGING_STORE and loc.status == STAGED), None)
    return ImageState(image.id, image.status, image.disk_format, image.container_format,
                      image.size, active, staged)


def _leftovers(s: Session, image_id: str, task_id: str) -> list[tuple[str, dict[str, Any]]]:
    image = s.get(Image, image_id)
    return [(loc.store, dict(loc.meta)) for loc in (image.locations if image else [])
            if loc.status == PENDING and loc.meta.get("task") == task_id]


def _edit_list(image: Image, name: str, remove: str | None = None, add: str | None = None
               ) -> None:
    items = [x for x in (prop(image, name) or "").split(",") if x and x != remove]
    if add and add not in items:
        items.append(add)
    set_prop(image, name, ",".join(items))


def _store_done(s: Session, image_id: str, store: str, activate: bool,
                landed: Landed | None) -> bool:
    image = image_row(s, image_id)
    loc = location(s, image_id, store)
    if image is None or loc is None:
        return False
    _edit_list(image, IMPORTING, remove=store)
    if activate:
        loc.status = ACTIVE
        if image.status == "importing" and landed is not None:
            apply(image, landed)
            image.status = "active"
    return True


def _store_failed(s: Session, image_id: str, store: str) -> None:
    image = image_row(s, image_id)
    if image is not None:
        _edit_list(image, IMPORTING, remove=store)
        _edit_list(image, FAILED_IMPORT, add=store)


def _activate_all(s: Session, image_id: str, stores: list[str], landed: Landed | None) -> bool:
    image = image_row(s, image_id)
    locs = [location(s, image_id, name) for name in stores]
    if image is None or any(loc is None for loc in locs):
        return False
    for loc in locs:
        loc.status = ACTIVE  # type: ignore[union-attr]
    if image.status == "importing" and landed is not None:
        apply(image, landed)
        image.status = "active"
    return True


def _settle(s: Session, image_id: str, task_id: str, failed: list[str] | None) -> None:
    """The end of the task: progress emptied, the lock released; on failure the stores not
    done are reported failed and an image that never became active is queued again."""
    image = image_row(s, image_id)
    if image is None:
        return
    if failed is not None:
        for name in failed:
            _edit_list(image, FAILED_IMPORT, add=name)
        if image.status == "importing":
            image.status = "queued"
    set_prop(image, IMPORTING, "")
    if prop(image, IMPORT_TASK) == task_id:
        set_prop(image, IMPORT_TASK, None)


class _Progress:
    """Bytes done per store, saved into the task's state about once a second."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.done: dict[str, list[int]] = {}

    def of(self, store: str) -> Progress:
        def cb(done: int, total: int) -> None:
            self.done[store] = [done, total]
        return cb

    async def keep_saving(self) -> None:
        while True:
            await asyncio.sleep(1)
            await self.control.save_state(progress=self.done)


class ImportTask:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        env, inp = self.env, task.input
        image_id, method = inp["image_id"], inp["method"]["name"]
        await self._clean(image_id, task.id)
        st = await env.run(_state, image_id)
        if st is None:
            await self._drop_stage(image_id)
            return {"outcome": "the image was deleted"}
        targets = [env.stores[n] for n in inp["stores"] if n not in st.active and n in env.stores]
        must_all = bool(inp.get("all_stores_must_succeed", True))
        progress = _Progress(control)
        saver = asyncio.create_task(progress.keep_saving())
        try:
            if method == "copy-image":
                done = await self._copy(task, st, targets, must_all, progress)
            else:
                stage = st.stage or await self._fetch(task, st, inp["method"]["uri"])
                done = await self._from_stage(task, st, stage, targets, must_all, progress)
                await self._drop_stage(image_id)
        finally:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        await control.save_state(progress=progress.done)
        await env.run(_settle, image_id, task.id, None)
        return {"stores": done}

    async def failed(self, task: TaskRecord, message: str) -> None:
        image_id = task.input["image_id"]
        try:
            await self._clean(image_id, task.id, resuming=False)
            if task.input["method"]["name"] != "copy-image":
                await self._drop_stage(image_id)
        except Error as exc:
            # A cluster that does not answer: the image is settled all the same; the rows of
            # this finished task are recovery's now (leases.py), once the cluster is back.
            log.warning("import leftovers wait for recovery: %s", exc, extra={"image": image_id})
        st = await self.env.run(_state, image_id)
        failed = [n for n in task.input["stores"] if st and n not in st.active]
        await self.env.run(_settle, image_id, task.id, failed)

    # ------------------------------------------------------------ steps

    async def _clean(self, image_id: str, task_id: str, *, resuming: bool = True) -> None:
        """Removes what an interrupted run of this task wrote (its pending rows name it). Its
        writer died or was this process, so holds on those devices are fenced. When resuming,
        a device that stays busy makes the task wait (it must be gone before it is written
        again); otherwise the reaper takes it over."""
        for store, meta in await self.env.run(_leftovers, image_id, task_id):
            try:
                await self.env.discard(meta, drop_row=(image_id, store), fence=True,
                                       defer_busy=not resuming)
            except Busy as exc:
                raise Retry(5, f"waiting for a dead writer's hold to expire: {exc}") from None

    async def _drop_stage(self, image_id: str) -> None:
        def meta(s: Session) -> dict[str, Any] | None:
            loc = location(s, image_id, STAGING_STORE)
            return dict(loc.meta) if loc is not None else None
        if (m := await self.env.run(meta)) is not None:
            await self.env.discard(m, drop_row=(image_id, STAGING_STORE))

    async def _fetch(self, task: TaskRecord, st: ImageState, uri: str) -> dict[str, Any]:
        """web-download into the staging device, inspected and hashed as it arrives."""
        env, store = self.env, self.env.stores.default
        await env.run(lambda s: env.add_pending(s, st.id, store, task=task.id, staging=True))
        dev = store.device(st.id, ".stage")
        async with webdl.fetch(uri, env.settings.image) as (length, body):
            rec = await ingest.receive(body, store.backend, dev, disk_format=st.disk_format,
                                        container_format=st.container_format,
                                        expected_size=length, size_cap=env.settings.image.size_cap,
                                        hash_algo=env.settings.image.hashing_algorithm)
        meta = await env.run(finish_stage, st.id, Landed.as_received(rec, st.disk_format),
                             "importing")
        if meta is None:
            raise Invalid("the image was deleted during its web-download")
        return meta

    async def _from_stage(self, task: TaskRecord, st: ImageState, stage: dict[str, Any],
                          targets: list[Store], must_all: bool, progress: _Progress) -> list[str]:
        env = self.env
        landed = Landed.from_meta(stage["landed"])
        source: Source = (env.stores.backend_of(stage["cluster"]),
                          DeviceRef(stage["pool"], stage["device"]), None)
        first = next((t for t in targets if needs_conversion(env, landed.disk_format, t)), None)
        done: list[str] = []
        if first is not None:
            await self._pending(task, st.id, targets)
            async with Undo() as undo:
                undo.add(self._undo, st.id, [t.name for t in targets])
                landed = await convert_into(env, first, st.id, source[0], source[1], landed)
                undo.commit()
            if not await env.run(_store_done, st.id, first.name, not must_all, landed):
                await env.discard(first.describe(st.id), drop_row=(st.id, first.name))
                raise Invalid("the image was deleted during its import")
            done.append(first.name)
            targets = [t for t in targets if t is not first]
            source = (first.backend, first.device(st.id), first.device(st.id).snap(SNAP))
        else:
            await self._pending(task, st.id, targets)

        async def write(store: Store, cb: Progress) -> None:
            await devices.transfer(source[0], source[1], store.backend, store.device(st.id),
                                   src_snap=source[2], progress=cb)
        return await self._fan_out(st.id, targets, write, must_all, landed, progress, done)

    async def _copy(self, task: TaskRecord, st: ImageState, targets: list[Store],
                    must_all: bool, progress: _Progress) -> list[str]:
        env = self.env
        sources = {name: meta for name, meta in st.active.items() if name in env.stores}
        if not sources:
            raise Invalid(f"image {st.id} has no data in any configured store to copy from")

        def source_for(store: Store) -> Source:
            # Same cluster first (a server-side clone), then the default store, then any.
            names = sorted(sources, key=lambda n: (env.stores[n].cluster_id != store.cluster_id,
                                                   not env.stores[n].default))
            src = env.stores[names[0]]
            dev = src.device(st.id)
            return src.backend, dev, dev.snap(SNAP)

        async def write(store: Store, cb: Progress) -> None:
            if needs_conversion(env, st.disk_format, store):
                raise Invalid(conversion_refused(st.disk_format, store.name))
            backend, dev, snap = source_for(store)
            dst = store.device(st.id)
            await devices.transfer(backend, dev, store.backend, dst, src_snap=snap, progress=cb)
            if st.size is not None and (await store.backend.stat(dst)).size != st.size:
                raise Invalid(f"the copy in store {store.name} does not have the image's size")

        await self._pending(task, st.id, targets)
        return await self._fan_out(st.id, targets, write, must_all, None, progress, [])

    async def _pending(self, task: TaskRecord, image_id: str, targets: list[Store]) -> None:
        def add(s: Session) -> None:
            for t in targets:
                self.env.add_pending(s, image_id, t, task=task.id)
        await self.env.run(add)

    async def _fan_out(self, image_id: str, targets: list[Store],
                       write: Callable[[Store, Progress], Awaitable[None]], must_all: bool,
                       landed: Landed | None, progress: _Progress, done: list[str]) -> list[str]:
        env = self.env
        failures: dict[str, str] = {}

        async def one(store: Store) -> None:
            try:
                await write(store, progress.of(store.name))
            except Exception as exc:
                failures[store.name] = str(exc) or type(exc).__name__
                await self._discard(image_id, store.name)
                await env.run(_store_failed, image_id, store.name)
                if must_all:
                    raise
                return
            if await env.run(_store_done, image_id, store.name, not must_all, landed):
                done.append(store.name)
            else:
                await env.discard(store.describe(image_id), drop_row=(image_id, store.name))

        if must_all:
            try:
                async with Undo() as undo:
                    # `done` grows as targets land: the step reads it when it runs
                    undo.add(self._undo, image_id, done, [t.name for t in targets])
                    async with asyncio.TaskGroup() as tg:
                        for t in targets:
                            tg.create_task(one(t))
                    undo.commit()
            except asyncio.CancelledError:
                raise
            except BaseException:
                raise _failure(failures) from None
            if not await env.run(_activate_all, image_id, done, landed):
                await self._undo(image_id, done)
                raise Invalid("the image was deleted during its import")
        else:
            await asyncio.gather(*(one(t) for t in targets))
            if targets and not done:
                raise _failure(failures)
        return done

    async def _undo(self, image_id: str, *stores: list[str]) -> None:
        for name in dict.fromkeys(name for group in stores for name in group):
            await self._discard(image_id, name)

    async def _discard(self, image_id: str, name: str) -> None:
        """Removes a failed target; one whose cluster does not answer stays, with its pending
        row, for recovery once this task is finished (leases.py), and the failure stands."""
        store = self.env.stores[name]
        try:
            await self.env.discard(store.describe(image_id), drop_row=(image_id, name))
        except Error as exc:
            log.warning("a failed import's target waits for recovery: %s", exc,
                        extra={"image": image_id, "store": name})


def _failure(failures: dict[str, str]) -> Exception:
    detail = "; ".join(f"{k}: {v}" for k, v in failures.items()) or "cancelled"
    return Invalid(f"import failed for store(s) {detail}")
