"""/os-keypairs: a user's SSH public keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ...services.context import RequestContext
from ..auth import get_context
from .common import body, compute, params, version

router = APIRouter()


@router.get("/os-keypairs")
async def list_keypairs(request: Request,
                        ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse(await compute(request).list_keypairs(ctx, params(request),
                                                             version(request)))


@router.post("/os-keypairs")
async def create(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    v = version(request)
    return JSONResponse({"keypair": await compute(request).create_keypair(
        ctx, await body(request), v)}, status_code=201 if v >= (2, 2) else 200)


@router.get("/os-keypairs/{name}")
async def show(name: str, request: Request,
               ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return JSONResponse({"keypair": await compute(request).get_keypair(
        ctx, name, params(request), version(request))})


@router.delete("/os-keypairs/{name}")
async def delete(name: str, request: Request,
                 ctx: RequestContext = Depends(get_context)) -> Response:
    v = version(request)
    await compute(request).delete_keypair(ctx, name, params(request), v)
    return Response(status_code=204 if v >= (2, 2) else 202)
