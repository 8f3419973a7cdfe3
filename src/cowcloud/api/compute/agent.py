"""/compute-agent/v1: the channel between the control plane and its compute agents.

Plain authenticated HTTP (the agent's service user holds a Keystone token with the admin
role), so agents run on other machines; never the database file. An agent registers its
host (refused while another agent holds it up), then heartbeats with its session.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...services.compute import checks
from ...services.compute.errors import BadRequest
from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute

router = APIRouter(prefix="/compute-agent/v1")


@router.post("/hosts")
async def register(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).register_host(ctx, await body(request)),
                        status_code=201)


@router.post("/hosts/{host}/heartbeat")
async def heartbeat(host: str, request: Request,
                    ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).heartbeat(ctx, host, await body(request)))


@router.get("/hosts/{host}/work")
async def next_work(host: str, request: Request,
                    ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    """The host's pending work, held open up to `wait` seconds while there is none."""
    wait = checks.number(request.query_params.get("wait", "0"), "wait")
    return JSONResponse({"work": await compute(request).next_work(
        ctx, host, request.query_params.get("session"), wait)})


@router.post("/hosts/{host}/work/{work_id}")
async def report(host: str, work_id: int, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    data = await body(request)
    if not isinstance(data, dict):
        raise BadRequest("A body with session and result is required.")
    await compute(request).report_work(ctx, host, data.get("session"), work_id,
                                       data.get("result"))
    return JSONResponse({})
