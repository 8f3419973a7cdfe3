"""The JSON schemas Glance serves at /v2/schemas/*: glanceclient builds its models from them.

Written from the Image API's published schema (api-ref), with cowcloud's formats and statuses.
The image schema is permissive: extra properties are strings.
"""

from __future__ import annotations

from typing import Any

from ...services.images.model import CONTAINER_FORMATS, DISK_FORMATS, STATUSES, VISIBILITIES

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){12}$")


def _s(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


def image_properties() -> dict[str, Any]:
    ro = {"readOnly": True}
    return {
        "id": _s("string", "An identifier for the image", pattern=UUID_PATTERN),
        "name": _s(["null", "string"], "Descriptive name for the image", maxLength=255),
        "status": _s("string", "Status of the image", enum=list(STATUSES), **ro),
        "visibility": _s("string", "Scope of image accessibility", enum=list(VISIBILITIES)),
        "protected": _s("boolean", "If true, image will not be deletable."),
        "os_hidden": _s("boolean", "If true, image will not appear in default image list "
                        "response."),
        "checksum": _s(["null", "string"], "md5 hash of image contents.", maxLength=32, **ro),
        "os_hash_algo": _s(["null", "string"], "Algorithm to calculate the os_hash_value",
                           maxLength=64, **ro),
        "os_hash_value": _s(["null", "string"], "Hexdigest of the image contents using the "
                            "algorithm specified by the os_hash_algo", maxLength=128, **ro),
        "owner": _s(["null", "string"], "Owner of the image", maxLength=255),
        "size": _s(["null", "integer"], "Size of image file in bytes", **ro),
        "virtual_size": _s(["null", "integer"], "Virtual size of image in bytes", **ro),
        "container_format": _s(["null", "string"], "Format of the container",
                               enum=[None, *CONTAINER_FORMATS]),
        "disk_format": _s(["null", "string"], "Format of the disk", enum=[None, *DISK_FORMATS]),
        "created_at": _s("string", "Date and time of image registration", **ro),
        "updated_at": _s("string", "Date and time of the last image modification", **ro),
        "tags": _s("array", "List of strings related to the image",
                   items={"type": "string", "maxLength": 255}),
        "direct_url": _s("string", "URL to access the image file kept in external store", **ro),
        "min_ram": _s("integer", "Amount of ram (in MB) required to boot image."),
        "min_disk": _s("integer", "Amount of disk space (in GB) required to boot image."),
        "self": _s("string", "An image self url", **ro),
        "file": _s("string", "An image file url", **ro),
        "stores": _s("string", "Store in which image data resides.  Only present when the "
                     "operator has enabled multiple stores.  May be a comma-separated list of "
                     "store identifiers.", **ro),
        "schema": _s("string", "An image schema url", **ro),
        "locations": _s("array", "A set of URLs to access the image file kept in external store",
                        items={"type": "object", "properties": {
                            "url": {"type": "string", "maxLength": 255},
                            "metadata": {"type": "object"}},
                            "required": ["url", "metadata"]}),
    }


def image_schema() -> dict[str, Any]:
    return {"name": "image", "properties": image_properties(),
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def images_schema() -> dict[str, Any]:
    return {"name": "images",
            "properties": {"images": {"type": "array", "items": image_schema()},
                           "schema": {"type": "string"}, "first": {"type": "string"},
                           "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member_schema() -> dict[str, Any]:
    return {"name": "member", "properties": {
        "created_at": _s("string", "Date and time of image member creation"),
        "image_id": _s("string", "An identifier for the image", pattern=UUID_PATTERN),
        "member_id": _s("string", "An identifier for the image member (tenantId)"),
        "schema": {"type": "string", "readOnly": True},
        "status": _s("string", "The status of this image member",
                     enum=["pending", "accepted", "rejected"]),
        "updated_at": _s("string", "Date and time of last modification of image member")}}


def members_schema() -> dict[str, Any]:
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member_schema()},
                           "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}


def task_schema() -> dict[str, Any]:
    ro = {"readOnly": True}
    return {"name": "task", "properties": {
        "id": _s("string", "An identifier for the task", pattern=UUID_PATTERN, **ro),
        "type": _s("string", "The type of task represented by this content",
                   enum=["import", "api_image_import"]),
        "status": _s("string", "The current status of this task",
                     enum=["pending", "processing", "success", "failure"], **ro),
        "input": _s(["null", "object"], "The parameters required by task, JSON blob"),
        "result": _s(["null", "object"], "The result of current task, JSON blob", **ro),
        "owner": _s(["null", "string"], "An identifier for the owner of this task", **ro),
        "message": _s("string", "Human-readable informative message only included when "
                      "appropriate (usually on failure)", **ro),
        "image_id": _s(["null", "string"], "Image associated with the task", **ro),
        "request_id": _s(["null", "string"], "Request ID associated with the task", **ro),
        "user_id": _s(["null", "string"], "User associated with the task", **ro),
        "expires_at": _s(["null", "string"], "Datetime when this resource would be subject "
                         "to removal", **ro),
        "created_at": _s("string", "Datetime when this resource was created", **ro),
        "updated_at": _s("string", "Datetime when this resource was updated", **ro),
        "self": {"type": "string", **ro}, "schema": {"type": "string", **ro}},
        # no "required": glanceclient validates an empty model against it before filling it
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}]}


def tasks_schema() -> dict[str, Any]:
    return {"name": "tasks",
            "properties": {"tasks": {"type": "array", "items": task_schema()},
                           "schema": {"type": "string"}, "first": {"type": "string"},
                           "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


SCHEMAS = {"image": image_schema, "images": images_schema, "member": member_schema,
           "members": members_schema, "task": task_schema, "tasks": tasks_schema}
