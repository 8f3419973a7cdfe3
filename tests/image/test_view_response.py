"""The list and show responses are encoded by orjson (api/image/common.ViewResponse): the bytes
must be JSONResponse's for anything an image view can hold."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import JSONResponse

from cowcloud.api.image.common import ViewResponse

VIEWS: list[Any] = [
    {"images": [], "schema": "/v2/schemas/images", "first": "/v2/images"},
    {"id": "0c5e1f2a-4f43-4a53-9b59-3a3f3e5b7c11", "name": None, "size": 2**63 - 1,
     "min_ram": 0, "protected": False, "os_hidden": True, "tags": ["a", "b"],
     "locations": [{"url": "rbd://f/p/i/snap", "metadata": {"store": "ceph"}}]},
    {"name": "été 雪 \U0001f600 \u2028\u2029 \x00\x01\x1f\x7f \" \\ / \n\t\r</script>",
     "negative": -(2**63), "empty": "", "nested": {"a": [{"b": [None, True]}]}},
]


@pytest.mark.parametrize("view", VIEWS)
def test_same_bytes_as_json_response(view: Any) -> None:
    assert ViewResponse(view).body == JSONResponse(view).body


def test_what_orjson_refuses_is_encoded_as_json_response_would() -> None:
    view = {"size": 2**70, "name": "x"}  # past 64 bits: orjson refuses it
    assert ViewResponse(view).body == JSONResponse(view).body == \
        b'{"size":1180591620717411303424,"name":"x"}'


def test_what_json_response_refuses_fails_alike() -> None:
    lone = {"name": "\ud800"}  # a lone surrogate: not text, neither encodes it
    with pytest.raises(UnicodeEncodeError):
        JSONResponse(lone)
    with pytest.raises(UnicodeEncodeError):
        ViewResponse(lone)
