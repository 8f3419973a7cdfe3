"""/attachments (microversion 3.27 and later; os-complete 3.44): create, update with a
connector, complete, list (summary and detail), show, delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import body, params, version, volumes

router = APIRouter()


@router.post("/attachments")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    att = await volumes(request).create_attachment(ctx, await body(request), version(request))
    return JSONResponse({"attachment": att})


@router.get("/attachments")
async def list_summary(request: Request,
                       ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"attachments": await volumes(request).list_attachments(
        ctx, params(request), version(request), detail=False)})


@router.get("/attachments/detail")
async def list_detail(request: Request,
                      ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"attachments": await volumes(request).list_attachments(
        ctx, params(request), version(request), detail=True)})


@router.get("/attachments/{attachment_id}")
async def show(attachment_id: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    att = await volumes(request).get_attachment(ctx, attachment_id, version(request))
    return JSONResponse({"attachment": att})


@router.put("/attachments/{attachment_id}")
async def update(attachment_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    att = await volumes(request).update_attachment(ctx, attachment_id, await body(request),
                                                   version(request))
    return JSONResponse({"attachment": att})


@router.post("/attachments/{attachment_id}/action")
async def action(attachment_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    await volumes(request).complete_attachment(ctx, attachment_id, await body(request),
                                               version(request))
    return Response(status_code=204)


@router.delete("/attachments/{attachment_id}")
async def delete(attachment_id: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    left = await volumes(request).delete_attachment(ctx, attachment_id, version(request))
    return JSONResponse({"attachments": left})
