"""The volume quota check and the row it allows commit together: a second create that starts
while the first one's transaction is still open waits for it and counts its volume."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from cowcloud.config import VolumeSettings
from cowcloud.db import Database
from cowcloud.db.models import Base, Volume
from cowcloud.services.volumes import quotas
from cowcloud.services.volumes.errors import VolumeLimitExceeded


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cowcloud.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.migrate()
    yield db
    db.dispose()


def _volume(project: str) -> Volume:
    return Volume(id=str(uuid.uuid4()), project_id=project, user_id="u", status="creating",
                  size=1, volume_type_id="t", backend="b", cluster="c", pool="p",
                  availability_zone="z")


def test_second_create_waits_for_the_first_and_counts_it(database: Database) -> None:
    settings = VolumeSettings(quota_volumes=1)
    project = uuid.uuid4().hex
    first_wrote = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with database.session() as s:
            quotas.consume(s, settings, project, volumes=1, gigabytes=1)
            s.add(_volume(project))
            s.flush()
            first_wrote.set()
            time.sleep(1.0)  # the window in which a count without the lock sees 0 volumes

    def second() -> None:
        first_wrote.wait()
        try:
            with database.session() as s:
                quotas.consume(s, settings, project, volumes=1, gigabytes=1)
                s.add(_volume(project))
            outcome["second"] = "created"
        except VolumeLimitExceeded as exc:
            outcome["second"] = exc.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome["second"] == ("Maximum number of volumes allowed (1) exceeded for quota "
                                 "'volumes'.")
    with database.session() as s:
        assert quotas.usage_of(s, project)["volumes"] == 1
