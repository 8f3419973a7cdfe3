"""/backups: create, list (summary and detail), show, update, delete, restore, actions.

GET /backups/{id} of a backup being taken or restored also answers `X-Backup-Progress: DONE
TOTAL` (bytes), which Cinder has no field for; the `cowcloud volume backup` commands draw
their progress bars from it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import base, body, params, version, volumes

router = APIRouter()
PROGRESS_HEADER = "X-Backup-Progress"


@router.post("/backups")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    backup = await volumes(request).backups.create(ctx, await body(request), version(request),
                                                   base(request))
    return JSONResponse({"backup": backup}, status_code=202)


@router.get("/backups")
async def list_summary(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).backups.list(
        ctx, params(request), version(request), base(request), detail=False))


@router.get("/backups/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await volumes(request).backups.list(
        ctx, params(request), version(request), base(request), detail=True))


@router.get("/backups/{backup_id}")
async def show(backup_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    service = volumes(request).backups
    backup = await service.get(ctx, backup_id, version(request), base(request))
    resp = JSONResponse({"backup": backup})
    if backup["status"] in ("creating", "restoring"):
        found = await service.progress(backup["id"])
        if found is not None:
            resp.headers[PROGRESS_HEADER] = f"{found[0]} {found[1]}"
    return resp


@router.put("/backups/{backup_id}")
async def update(backup_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    backup = await volumes(request).backups.update(ctx, backup_id, await body(request),
                                                   version(request), base(request))
    return JSONResponse({"backup": backup})


@router.delete("/backups/{backup_id}")
async def delete(backup_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).backups.delete(ctx, backup_id)
    return Response(status_code=202)


@router.post("/backups/{backup_id}/restore")
async def restore(backup_id: str, request: Request,
                  ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    out = await volumes(request).backups.restore(ctx, backup_id, await body(request),
                                                 base(request))
    return JSONResponse({"restore": out}, status_code=202)


@router.post("/backups/{backup_id}/action")
async def action(backup_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).backups.action(ctx, backup_id, await body(request))
    return Response(status_code=202)
