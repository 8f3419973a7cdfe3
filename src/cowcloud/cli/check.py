"""`cowcloud config check`: validate the file, then try what the server will need.

One line per check on stdout, `ok` or `problem` first, so a script can grep it and an operator
can read it: the file, the data folder, the database, and for each cluster its conf and keyring,
whether it answers and with which fsid, and for each target in it (image store, volume, ephemeral
or backup backend) whether its pool exists and the configured user may read and write there.
Exit status: 0 all ok, 1 a problem found, 2 the file itself is invalid.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .. import config as config_mod
from ..config import LocalClusterSettings, RbdClusterSettings, Settings
from ..errors import Error
from ..storage.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from ..storage.rbd.probe import ClusterProbe

ROLES = {"image_stores": "image store", "volume_backends": "volume backend",
         "ephemeral_backends": "ephemeral backend", "backup_targets": "backup target"}


class Report:
    def __init__(self, echo: Callable[[str], None] = typer.echo) -> None:
        self.echo = echo
        self.checks = 0
        self.problems = 0

    def ok(self, subject: str, detail: str) -> None:
        self.checks += 1
        self.echo(f"ok       {subject}: {detail}")

    def problem(self, subject: str, detail: str) -> None:
        self.checks += 1
        self.problems += 1
        self.echo(f"problem  {subject}: {detail}")


def run(path: Path | None, timeout: float) -> int:
    report = Report()
    source = config_mod.locate(path)
    try:
        settings = config_mod.load(path)
    except config_mod.ConfigError as exc:
        report.problem("configuration", str(exc))
        return 2
    report.ok("configuration", f"{source or 'embedded default (no file)'}: valid")
    _folder(report, "data_dir", settings.server.data_dir)
    _database(report, settings, timeout)
    _tools(report, settings)
    for name, cluster in settings.clusters.items():
        if isinstance(cluster, RbdClusterSettings):
            _rbd_cluster(report, settings, name, cluster, timeout)
        elif isinstance(cluster, LocalClusterSettings):
            _local_cluster(report, settings, name)
    if report.problems:
        report.echo(f"{report.problems} problem(s) in {report.checks} checks")
        return 1
    report.echo(f"all {report.checks} checks ok")
    return 0


def _folder(report: Report, subject: str, folder: Path, what: str = "") -> None:
    """A folder the server writes: there and writable, or creatable by this user."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        report.problem(subject, f"{what}{folder}: {existing} is not a folder")
    elif not os.access(existing, os.W_OK | os.X_OK):
        report.problem(subject, f"{what}{folder}: {existing} is not writable by this user")
    elif existing == folder:
        report.ok(subject, f"{what}{folder}: writable")
    else:
        report.ok(subject, f"{what}{folder}: does not exist yet, will be created")


def _database(report: Report, settings: Settings, timeout: float) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(settings.server.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _folder(report, "database", Path(url.database).parent,
                    f"sqlite {url.database} in folder ")
        return
    shown = url.render_as_string(hide_password=True)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # the driver the server uses (db.engine)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": max(1, int(timeout))})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any driver's failure is the operator's answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.problem("database", f"{shown}: cannot connect: {first}")
        return
    report.ok("database", f"{shown}: reached")


def _readable(report: Report, subject: str, what: str, path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        report.problem(subject, f"{what} {path}: cannot read: {exc.strerror}")
        return False
    report.ok(subject, f"{what} {path}: readable")
    return True


def _targets(settings: Settings, cluster: str) -> list[tuple[str, str, str]]:
    """(role, target name, pool) of every target on `cluster`, in configuration order."""
    return [(role, name, target.pool)
            for section, role in ROLES.items()
            for name, target in getattr(settings, section).items() if target.cluster == cluster]


def _rbd_cluster(report: Report, settings: Settings, name: str, spec: RbdClusterSettings,
                 timeout: float) -> None:
    subject = f"cluster {name}"
    targets = _targets(settings, name)
    readable = _readable(report, subject, "conf", spec.conf)
    if spec.keyring is not None:
        readable = _readable(report, subject, "keyring", spec.keyring) and readable
    if not readable:
        _not_checked(report, targets, f"cluster {name} was not contacted")
        return
    try:
        from ..storage.rbd.probe import open_probe
    except ImportError as exc:
        report.problem(subject, f"python3-rados/python3-rbd not importable here: {exc}")
        _not_checked(report, targets, f"cluster {name} was not contacted")
        return
    user = f"client.{spec.user}"
    try:
        probe = open_probe(spec.conf, spec.user, spec.keyring, timeout)
    except Error as exc:
        reason = str(exc)
        if "timed out" in reason.lower():
            reason += (f" (no monitor answered within {int(timeout)}s: is mon_host in "
                       f"{spec.conf} right and reachable from here?)")
        elif isinstance(exc, PermissionDenied):
            reason += f" (is the key of {user} in the keyring the one the cluster knows?)"
        report.problem(subject, reason)
        _not_checked(report, targets, f"cluster {name} is not reachable")
        return
    with probe:
        report.ok(subject, f"reached as {user}, fsid {probe.fsid}")
        pools: dict[str, str | None] = {}  # pool -> its problem, each pool probed once
        for role, target, pool in targets:
            if pool not in pools:
                pools[pool] = _pool_problem(probe, pool, user, timeout)
            where = f"pool {pool} on cluster {name}"
            if pools[pool]:
                report.problem(f"{role} {target}", f"{where}: {pools[pool]}")
            else:
                report.ok(f"{role} {target}", f"{where}: {user} can read and write")


def _pool_problem(probe: ClusterProbe, pool: str, user: str, timeout: float) -> str | None:
    """Why the role cannot use `pool` (it does not exist, caps, no active OSD), or None."""
    needs = f"{user} needs osd 'profile rbd pool={pool}' (and mon 'profile rbd')"
    try:
        if not probe.pool_exists(pool):
            return (f"does not exist (create it: ceph osd pool create {pool}; "
                    f"rbd pool init {pool})")
        probe.read(pool)
    except PermissionDenied as exc:
        return f"cannot read: {exc}; {needs}"
    except NotFound as exc:
        return f"does not exist: {exc}"
    except Error as exc:
        return f"cannot read: {exc}{_slow_hint(exc, timeout)}"
    try:
        probe.write(pool)
    except PermissionDenied as exc:
        return f"read only: {exc}; {needs}"
    except Error as exc:
        return f"cannot write: {exc}{_slow_hint(exc, timeout)}"
    return None


def _slow_hint(exc: Error, timeout: float) -> str:
    if "timed out" in str(exc).lower():
        return f" (no answer within {int(timeout)}s: are the pool's OSDs up and its PGs active?)"
    return ""


def _not_checked(report: Report, targets: list[tuple[str, str, str]], why: str) -> None:
    for role, target, pool in targets:
        report.problem(f"{role} {target}", f"pool {pool} not checked: {why}")


def _tools(report: Report, settings: Settings) -> None:
    """qemu-img converts images bound for rbd and runs local clusters; qemu-nbd serves these."""
    local = any(isinstance(c, LocalClusterSettings) for c in settings.clusters.values())
    needed = ["qemu-img"] if local or (settings.image_stores and
                                       settings.image.convert_to_raw_for_rbd) else []
    needed += ["qemu-nbd"] if local else []
    if not needed:
        return
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        report.problem("tools", f"{', '.join(missing)} not found on PATH (apt install qemu-utils)")
    else:
        report.ok("tools", f"{' and '.join(needed)} found")


def _local_cluster(report: Report, settings: Settings, name: str) -> None:
    _folder(report, f"cluster {name}", settings.cluster_path(name))
    for role, target, pool in _targets(settings, name):
        report.ok(f"{role} {target}", f"pool {pool} on local cluster {name} (made on first use)")
