"""The one HTTP application: identity, image, volume and compute on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..config import Settings
from ..services.runtime import Runtime
from .compute import COMPUTE
from .compute import router as compute_router
from .errors import install_error_handlers
from .identity import router as identity_router
from .image import router as image_router
from .limits import BodyLimit
from .microversion import Microversion
from .observability import install_observability
from .volume import VOLUME
from .volume import router as volume_router


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        agent = None
        if settings.compute.local_agent:  # this machine is a compute host too
            from ..agent.embedded import EmbeddedAgent

            agent = EmbeddedAgent(runtime)
            await agent.start()
        try:
            yield
        finally:
            if agent is not None:
                await agent.stop(settings.server.stop_grace_seconds)
            await runtime.stop()

    # No trailing-slash redirects: Glance and Keystone answer `GET /v2/images/` with 404, and a
    # 307 to the collection would turn a DELETE of an empty id into a listing's 405.
    app = FastAPI(title="cowcloud", lifespan=lifespan, docs_url=None, redoc_url=None,
                  redirect_slashes=False)
    app.state.runtime = runtime
    install_error_handlers(app)
    # /volume/v3 and /compute/v2.1 answers name their microversion
    app.add_middleware(Microversion, service=VOLUME)
    app.add_middleware(Microversion, service=COMPUTE)
    app.add_middleware(BodyLimit)  # inside observability: refusals get request ids and metrics
    install_observability(app)
    app.include_router(image_router)
    app.include_router(identity_router)
    app.include_router(volume_router)
    app.include_router(compute_router)
    return app
