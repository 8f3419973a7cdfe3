"""Service routers turn away paths outside their prefix before matching (api/routing.py): that
is only right if every route they hold lies under that prefix."""

from __future__ import annotations

from fastapi.routing import _IncludedRouter

from cowcloud.api.compute import router as compute_router
from cowcloud.api.identity import router as identity_router
from cowcloud.api.image import router as image_router
from cowcloud.api.routing import ServiceRouter
from cowcloud.api.volume import router as volume_router


def _paths(router: ServiceRouter) -> list[str]:
    out = []
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            out += [ctx.path_format for ctx in route.effective_route_contexts()]
        else:
            out.append(route.path)  # type: ignore[attr-defined]
    return out


def test_every_route_lies_under_its_service_prefix() -> None:
    for router in (identity_router, image_router, volume_router, compute_router):
        paths = _paths(router)
        assert len(paths) > 3
        outside = [p for p in paths if not p.startswith(router.path_prefix)]
        assert outside == [], (router.path_prefix, outside)
