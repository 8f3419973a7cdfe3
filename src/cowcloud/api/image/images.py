"""Images, tags, actions, members, import and tasks: /image/v2/images/..."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...services.context import RequestContext
from ...services.images import IMPORT_METHODS
from ...services.images.patch import PATCH_TYPES
from ..auth import get_context, public_url
from ..errors import UnsupportedMediaType
from .common import (
    decorate,
    images,
    json_body,
    json_response,
    no_content,
    page,
    view_response,
)

router = APIRouter(prefix="/image/v2")
Ctx = Depends(get_context)


@router.post("/images")
async def create(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    svc = images(request)
    image = decorate(await svc.create(ctx, await json_body(request)))
    return json_response(image, 201, headers={
        "Location": f"{public_url(request)}/image/v2/images/{image['id']}",
        "OpenStack-image-import-methods": ",".join(IMPORT_METHODS),
        "OpenStack-image-store-ids": ",".join(svc.store_names())})


# The two reads call get_context themselves instead of declaring it a dependency: FastAPI's
# dependency solving is a measurable part of a request that costs a millisecond in all.
@router.get("/images")
async def index(request: Request) -> JSONResponse:
    ctx = await get_context(request)
    params = list(request.query_params.multi_items())
    found, marker = await images(request).list_images(ctx, params)
    return view_response(page("images", [decorate(i) for i in found], "/v2/images",
                              "/v2/schemas/images", params, marker))


@router.get("/images/{image_id}")
async def show(image_id: str, request: Request) -> JSONResponse:
    ctx = await get_context(request)
    return view_response(decorate(await images(request).get(ctx, image_id)))


@router.patch("/images/{image_id}")
async def update(image_id: str, request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in PATCH_TYPES:
        allowed = ", ".join(sorted(PATCH_TYPES))
        raise UnsupportedMediaType(f"Image PATCH expects Content-Type one of: {allowed}",
                                   headers={"Accept-Patch": allowed})
    body = await json_body(request)
    return json_response(decorate(await images(request).update(ctx, image_id, body,
                                                                content_type)))


@router.delete("/images/{image_id}", status_code=204)
async def delete(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    await images(request).delete(ctx, image_id)
    return no_content()


@router.put("/images/{image_id}/tags/{tag}", status_code=204)
async def add_tag(image_id: str, tag: str, request: Request, ctx: RequestContext = Ctx
                  ) -> Response:
    await images(request).add_tag(ctx, image_id, tag)
    return no_content()


@router.delete("/images/{image_id}/tags/{tag}", status_code=204)
async def delete_tag(image_id: str, tag: str, request: Request, ctx: RequestContext = Ctx
                     ) -> Response:
    await images(request).delete_tag(ctx, image_id, tag)
    return no_content()


@router.post("/images/{image_id}/actions/deactivate", status_code=204)
async def deactivate(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    await images(request).deactivate(ctx, image_id)
    return no_content()


@router.post("/images/{image_id}/actions/reactivate", status_code=204)
async def reactivate(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    await images(request).reactivate(ctx, image_id)
    return no_content()


@router.post("/images/{image_id}/import", status_code=202)
async def import_image(image_id: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    body = await json_body(request)
    await images(request).import_image(ctx, image_id, body,
                                       request.headers.get("x-image-meta-store"))
    return Response(status_code=202)


@router.get("/images/{image_id}/tasks")
async def tasks(image_id: str, request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    return json_response({"tasks": await images(request).image_tasks(ctx, image_id)})


# ------------------------------------------------------------------------ members

@router.post("/images/{image_id}/members")
async def add_member(image_id: str, request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    body = await json_body(request)
    return json_response(await images(request).add_member(ctx, image_id, body))


@router.get("/images/{image_id}/members")
async def list_members(image_id: str, request: Request, ctx: RequestContext = Ctx
                       ) -> JSONResponse:
    found = await images(request).list_members(ctx, image_id)
    return json_response({"members": found, "schema": "/v2/schemas/members"})


@router.get("/images/{image_id}/members/{member_id}")
async def get_member(image_id: str, member_id: str, request: Request,
                     ctx: RequestContext = Ctx) -> JSONResponse:
    return json_response(await images(request).get_member(ctx, image_id, member_id))


@router.put("/images/{image_id}/members/{member_id}")
async def update_member(image_id: str, member_id: str, request: Request,
                        ctx: RequestContext = Ctx) -> JSONResponse:
    body = await json_body(request)
    return json_response(await images(request).update_member(ctx, image_id, member_id, body))


@router.delete("/images/{image_id}/members/{member_id}", status_code=204)
async def remove_member(image_id: str, member_id: str, request: Request,
                        ctx: RequestContext = Ctx) -> Response:
    await images(request).remove_member(ctx, image_id, member_id)
    return no_content()
