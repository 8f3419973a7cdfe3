"""The process's long-lived parts: settings, database, opened clusters. Built once at start-up.

Start-up does not wait for storage: clusters open (and recover) in the background, each on its
own, so identity and the stores of the clusters that answer serve while another is away. Stop
is bounded by `[server] stop_grace_seconds`, whatever the clusters do.
"""

from __future__ import annotations

import logging
import os

from ..config import LocalClusterSettings, Settings
from ..db import Database
from ..storage.base import BaseBackend
from ..storage.registry import Clusters
from ..tasks import TaskRunner
from .appcreds import AppCreds
from .authn import Authenticator
from .catalog import Catalog
from .compute import ComputeService
from .identity import ENV_ADMIN_PASSWORD, BootstrapResult, Identity, IdentityService, bootstrap
from .images import ImageService
from .metadefs import MetadefService
from .tokens import KEYS_FOLDER, FernetKeys, Tokens
from .volumes import VolumeService

log = logging.getLogger("cowcloud.runtime")


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.server.database_url)
        self.clusters = Clusters(settings)
        self.clusters.on_open(self._ensure_local_pools)  # before the image service's recovery
        self.keys = FernetKeys(settings.server.data_dir / KEYS_FOLDER)
        self.tokens = Tokens(self.db, self.keys, settings.server.token_ttl_seconds)
        self.identity = Identity(self.db)
        self.appcreds = AppCreds(self.db)
        self.auth = Authenticator(self.db, self.tokens)
        self.catalog = Catalog(settings.server.region)
        self.identity_service = IdentityService(self.identity, self.appcreds, self.auth,
                                                self.tokens, self.catalog)
        self.tasks = TaskRunner(self.db, lease_seconds=settings.image.task_lease_seconds)
        self.images = ImageService(settings, self.db, self.clusters, self.tasks)
        self.metadefs = MetadefService(self.db)
        self.volumes = VolumeService(settings, self.db, self.clusters, self.tasks, self.images)
        self.compute = ComputeService(settings, self.db, self.clusters, self.tasks, self.images,
                                      self.volumes)

    def prepare(self) -> BootstrapResult:
        """The data folder, the schema, the token keys and the first-start identity (admin user,
        project, Default domain, roles); idempotent. `cowcloud init` stops here."""
        self.settings.server.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db.migrate()
        self.keys.load()
        return bootstrap(self.db, self.settings, os.environ.get(ENV_ADMIN_PASSWORD))

    async def start(self) -> None:
        self.prepare()
        await self.images.start()  # stores; recovery runs as each cluster opens, then periodically
        await self.clusters.open(wait=self.settings.server.cluster_wait_seconds)
        await self.volumes.start()  # the default type, then what a crash left
        await self.tasks.start()  # resumes abandoned tasks
        log.info("runtime started", extra={"data_dir": str(self.settings.server.data_dir),
                                           "database": self.db.engine.url.render_as_string()})

    async def _ensure_local_pools(self, name: str, backend: BaseBackend) -> None:
        """A local cluster's pools are folders: make the ones the configuration names.

        Ceph pools are the operator's (they carry caps, PG counts, CRUSH rules): never created here.
        """
        if not isinstance(self.settings.clusters[name], LocalClusterSettings):
            return
        for section in ("image_stores", "volume_backends", "ephemeral_backends", "backup_targets"):
            for target in getattr(self.settings, section).values():
                if target.cluster == name:
                    await backend.create_pool(target.pool)

    async def stop(self) -> None:
        grace = self.settings.server.stop_grace_seconds
        await self.images.stop(grace)
        # running tasks go back to pending before their clusters close
        await self.tasks.stop(grace=grace)
        await self.clusters.close()
        self.db.dispose()
