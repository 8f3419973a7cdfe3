"""The contract's one declaration: an operation a backend does not offer answers NotSupported."""

from __future__ import annotations

import pytest

from cowcloud.storage import BackendInfo, BaseBackend, DeviceRef, NotSupported


class Bare(BaseBackend):
    """Offers nothing beyond the lifecycle."""

    name = "bare"

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(kind="bare", cluster_id="x")

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("call", [
    lambda b, d: b.create(d, 1), lambda b, d: b.stat(d), lambda b, d: b.flatten(d),
    lambda b, d: b.snapshot(d, "s"), lambda b, d: b.lock(d, "c"),
    lambda b, d: b.changed_extents(d, "s"),
])
async def test_unoffered_operations_say_not_supported(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotSupported) as err:
        await call(Bare(), DeviceRef("p", "d"))
    assert "backend 'bare'" in str(err.value)


async def test_qemu_node_not_supported() -> None:
    with pytest.raises(NotSupported):
        async with Bare().qemu_node(DeviceRef("p", "d")):
            pass
