"""Discovery in v2: schemas, stores (MS-03/04), import methods (IMP-02), store delete (MS-05)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...services.context import RequestContext
from ...services.images import IMPORT_METHODS
from ..auth import get_context
from ..errors import NotFound
from .common import images, json_response, no_content
from .schemas import SCHEMAS

router = APIRouter(prefix="/image/v2")


@router.get("/schemas/{name}")
async def schema(name: str, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    if name not in SCHEMAS:
        raise NotFound(f"No schema named {name}")
    return json_response(SCHEMAS[name]())


@router.get("/info/stores")
async def stores(request: Request, ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return json_response({"stores": images(request).stores_info(ctx)})


@router.get("/info/stores/detail")
async def stores_detail(request: Request,
                        ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return json_response({"stores": images(request).stores_info(ctx, detail=True)})


@router.get("/info/import")
async def import_info(ctx: RequestContext = Depends(get_context)) -> JSONResponse:
    return json_response({"import-methods": {"description": "Import methods available.",
                                             "type": "array", "value": list(IMPORT_METHODS)}})


@router.delete("/stores/{store}/{image_id}", status_code=204)
async def delete_from_store(store: str, image_id: str, request: Request,
                            ctx: RequestContext = Depends(get_context)) -> Response:
    await images(request).delete_from_store(ctx, store, image_id)
    return no_content()
