"""Metadata definitions: /image/v2/metadefs/... and their schemas at
/image/v2/schemas/metadefs/... (Image API v2 api-ref, "Metadata definitions").

Only HTTP here: bodies are read with the Image API's size cap, status codes and list wrappers
are Glance's; the service checks, stores and shapes everything else.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...services.context import RequestContext
from ...services.metadefs import MetadefService
from ..auth import get_context, get_runtime, public_url
from ..errors import BadRequest, NotFound
from .common import json_body, json_response, no_content, page

router = APIRouter(prefix="/image/v2")
Ctx = Depends(get_context)
NS = "/metadefs/namespaces/{namespace}"
TRUE = ("1", "t", "true", "on", "y", "yes")  # oslo's bool_from_string, as Glance reads headers


def metadefs(request: Request) -> MetadefService:
    service: MetadefService = get_runtime(request).metadefs
    return service


@router.get("/schemas/metadefs/{name}")
async def schema(name: str, ctx: RequestContext = Ctx) -> JSONResponse:
    found = MetadefService.schema(name)
    if found is None:
        raise NotFound(f"No schema named metadefs/{name}")
    return json_response(found)


@router.get("/metadefs/resource_types")
async def resource_types(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    return json_response({"resource_types": await metadefs(request).list_resource_types(ctx)})


# ------------------------------------------------------------------------ namespaces

@router.get("/metadefs/namespaces")
async def list_namespaces(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    params = list(request.query_params.multi_items())
    found, marker = await metadefs(request).list_namespaces(ctx, params)
    return json_response(page("namespaces", found, "/v2/metadefs/namespaces",
                              "/v2/schemas/metadefs/namespaces", params, marker))


@router.post("/metadefs/namespaces")
async def create_namespace(request: Request, ctx: RequestContext = Ctx) -> JSONResponse:
    ns = await metadefs(request).create_namespace(ctx, await json_body(request))
    location = f"{public_url(request)}/image/v2/metadefs/namespaces/" \
               f"{quote(ns['namespace'], safe=':')}"
    return json_response(ns, 201, headers={"Location": location})


@router.get(NS)
async def show_namespace(namespace: str, request: Request, ctx: RequestContext = Ctx
                         ) -> JSONResponse:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > 0:  # Glance answers a GET with a body 400
        raise BadRequest("This request does not take a body.")
    rt = request.query_params.get("resource_type")
    return json_response(await metadefs(request).get_namespace(ctx, namespace, rt))


@router.put(NS)
async def update_namespace(namespace: str, request: Request, ctx: RequestContext = Ctx
                           ) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).update_namespace(ctx, namespace, body))


@router.delete(NS, status_code=204)
async def delete_namespace(namespace: str, request: Request, ctx: RequestContext = Ctx
                           ) -> Response:
    await metadefs(request).delete_namespace(ctx, namespace)
    return no_content()


# DELETE .../objects, .../properties, .../tags: all of one kind at once

@router.delete(f"{NS}/objects", status_code=204)
async def delete_objects(namespace: str, request: Request, ctx: RequestContext = Ctx
                         ) -> Response:
    await metadefs(request).delete_contents(ctx, namespace, "objects")
    return no_content()


@router.delete(f"{NS}/properties", status_code=204)
async def delete_properties(namespace: str, request: Request, ctx: RequestContext = Ctx
                            ) -> Response:
    await metadefs(request).delete_contents(ctx, namespace, "properties")
    return no_content()


@router.delete(f"{NS}/tags", status_code=204)
async def delete_tags(namespace: str, request: Request, ctx: RequestContext = Ctx) -> Response:
    await metadefs(request).delete_contents(ctx, namespace, "tags")
    return no_content()


# ------------------------------------------------------------------------ objects

@router.get(f"{NS}/objects")
async def list_objects(namespace: str, request: Request, ctx: RequestContext = Ctx
                       ) -> JSONResponse:
    params = list(request.query_params.multi_items())
    found = await metadefs(request).list_objects(ctx, namespace, params)
    return json_response({"objects": found, "schema": "/v2/schemas/metadefs/objects"})


@router.post(f"{NS}/objects")
async def create_object(namespace: str, request: Request, ctx: RequestContext = Ctx
                        ) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).create_object(ctx, namespace, body), 201)


@router.get(f"{NS}/objects/{{name}}")
async def show_object(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                      ) -> JSONResponse:
    return json_response(await metadefs(request).get_object(ctx, namespace, name))


@router.put(f"{NS}/objects/{{name}}")
async def update_object(namespace: str, name: str, request: Request,
                        ctx: RequestContext = Ctx) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).update_object(ctx, namespace, name, body))


@router.delete(f"{NS}/objects/{{name}}", status_code=204)
async def delete_object(namespace: str, name: str, request: Request,
                        ctx: RequestContext = Ctx) -> Response:
    await metadefs(request).delete_object(ctx, namespace, name)
    return no_content()


# ------------------------------------------------------------------------ properties

@router.get(f"{NS}/properties")
async def list_properties(namespace: str, request: Request, ctx: RequestContext = Ctx
                          ) -> JSONResponse:
    found = await metadefs(request).list_properties(ctx, namespace)
    return json_response({"properties": found})


@router.post(f"{NS}/properties")
async def create_property(namespace: str, request: Request, ctx: RequestContext = Ctx
                          ) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).create_property(ctx, namespace, body), 201)


@router.get(f"{NS}/properties/{{name}}")
async def show_property(namespace: str, name: str, request: Request,
                        ctx: RequestContext = Ctx) -> JSONResponse:
    rt = request.query_params.get("resource_type")
    return json_response(await metadefs(request).get_property(ctx, namespace, name, rt))


@router.put(f"{NS}/properties/{{name}}")
async def update_property(namespace: str, name: str, request: Request,
                          ctx: RequestContext = Ctx) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).update_property(ctx, namespace, name, body))


@router.delete(f"{NS}/properties/{{name}}", status_code=204)
async def delete_property(namespace: str, name: str, request: Request,
                          ctx: RequestContext = Ctx) -> Response:
    await metadefs(request).delete_property(ctx, namespace, name)
    return no_content()


# ------------------------------------------------------------------------ tags

@router.get(f"{NS}/tags")
async def list_tags(namespace: str, request: Request, ctx: RequestContext = Ctx
                    ) -> JSONResponse:
    params = list(request.query_params.multi_items())
    return json_response({"tags": await metadefs(request).list_tags(ctx, namespace, params)})


@router.post(f"{NS}/tags")
async def create_tags(namespace: str, request: Request, ctx: RequestContext = Ctx
                      ) -> JSONResponse:
    """Several tags at once; X-Openstack-Append: true keeps the existing ones."""
    body = await json_body(request)
    append = request.headers.get("x-openstack-append", "").strip().lower() in TRUE
    made = await metadefs(request).create_tags(ctx, namespace, body, append)
    return json_response({"tags": made}, 201)


@router.post(f"{NS}/tags/{{name}}")
async def create_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                     ) -> JSONResponse:
    """The name is in the URL; clients send no body (tempest, glanceclient, openstacksdk)."""
    return json_response(await metadefs(request).create_tag(ctx, namespace, name), 201)


@router.get(f"{NS}/tags/{{name}}")
async def show_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                   ) -> JSONResponse:
    return json_response(await metadefs(request).get_tag(ctx, namespace, name))


@router.put(f"{NS}/tags/{{name}}")
async def update_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                     ) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).update_tag(ctx, namespace, name, body))


@router.delete(f"{NS}/tags/{{name}}", status_code=204)
async def delete_tag(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                     ) -> Response:
    await metadefs(request).delete_tag(ctx, namespace, name)
    return no_content()


# ------------------------------------------------------------------------ resource types

@router.get(f"{NS}/resource_types")
async def list_associations(namespace: str, request: Request, ctx: RequestContext = Ctx
                            ) -> JSONResponse:
    found = await metadefs(request).list_associations(ctx, namespace)
    return json_response({"resource_type_associations": found})


@router.post(f"{NS}/resource_types")
async def associate(namespace: str, request: Request, ctx: RequestContext = Ctx
                    ) -> JSONResponse:
    body = await json_body(request)
    return json_response(await metadefs(request).associate(ctx, namespace, body), 201)


@router.delete(f"{NS}/resource_types/{{name}}", status_code=204)
async def dissociate(namespace: str, name: str, request: Request, ctx: RequestContext = Ctx
                     ) -> Response:
    await metadefs(request).dissociate(ctx, namespace, name)
    return no_content()
