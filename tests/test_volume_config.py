"""The [volume] section: Cinder's quota defaults and clone-depth bound, overridable, checked."""

from __future__ import annotations

import pytest

from cowcloud.config import ConfigError, parse


def test_defaults_are_cinders() -> None:
    volume = parse("").volume
    assert (volume.quota_volumes, volume.quota_snapshots, volume.quota_gigabytes,
            volume.quota_backups, volume.quota_backup_gigabytes) == (10, 10, 1000, 10, 1000)
    assert volume.per_volume_size_limit == -1 and volume.max_clone_depth == 5


def test_overrides_and_unlimited() -> None:
    volume = parse("[volume]\nquota_volumes = -1\nmax_clone_depth = 0\n").volume
    assert volume.quota_volumes == -1 and volume.max_clone_depth == 0


@pytest.mark.parametrize("text, key", [
    ("[volume]\nquota_volumes = -2\n", "volume.quota_volumes"),
    ("[volume]\nflatten_workers = 0\n", "volume.flatten_workers"),
    ("[volume]\nquota_volume = 5\n", "volume.quota_volume"),
])
def test_bad_values_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse(text)
