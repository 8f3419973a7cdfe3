"""`cowcloud serve` as a real child process, for tests that kill it (SIGKILL) and start it again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .helpers import VENV_BIN

PASSWORD = "restart-test-secret"


def config_toml(data_dir: Path, port: int, ceph: list[Any]) -> str:
    """central and central-b on cluster 0, dcn0 on cluster 1, edge local (as conftest)."""
    lines = [f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{data_dir}"\n',
             '[image]\nweb_download_allow_private = true\ntask_lease_seconds = 6\n'
             'reap_interval_seconds = 1\n',
             '[sites.central]\n[sites.dcn0]\n']
    for i, info in enumerate(ceph):
        lines.append(f'[clusters.ceph{i}]\nkind = "rbd"\nsite = "{"central" if i == 0 else "dcn0"}"'
                     f'\nconf = "{info.conf}"\nkeyring = "{info.keyring}"\nuser = "{info.user}"\n')
    lines.append('[clusters.local]\nkind = "local"\nsite = "dcn0"\n')
    for name, cluster, pool, default in (("central", "ceph0", "images", True),
                                         ("dcn0", "ceph1", "images", False),
                                         ("edge", "local", "images", False),
                                         ("central-b", "ceph0", "volumes", False)):
        lines.append(f'[image_stores.{name}]\ncluster = "{cluster}"\npool = "{pool}"\n'
                     f'default = {"true" if default else "false"}\n')
    return "\n".join(lines)


@dataclass
class Proc:
    url: str
    config: Path
    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    zombies: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, timeout: float = 60, wait_clusters: bool = True) -> None:
        """Starts `cowcloud serve`; returns once it serves and (wait_clusters) every cluster
        is open and recovered."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(COWCLOUD_ADMIN_PASSWORD=PASSWORD,
                   OS_CLIENT_CONFIG_FILE=str(self.data_dir / "clouds.yaml"))
        log = open(self.data_dir / "server.log", "ab")
        self.proc = subprocess.Popen([str(VENV_BIN / "cowcloud"), "serve", "--config",
                                      str(self.config), "--log-level", "WARNING"],
                                     stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while True:
            try:
                resp = httpx.get(f"{self.url}/healthz", timeout=2)
                if resp.status_code == 200 and not (wait_clusters
                                                    and resp.json().get("unavailable")):
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" +
                                   (self.data_dir / "server.log").read_text()[-4000:])
            time.sleep(0.1)

    def kill(self, reap: bool = True) -> None:
        """SIGKILL. reap=False leaves the dead process a zombie (not waited for): its pid
        still answers kill(pid, 0), as a hung or reused pid would; reap() ends it later."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        if reap:
            self.proc.wait(10)
        else:
            self.zombies.append(self.proc)
        self.proc = None

    def reap(self) -> None:
        for p in self.zombies:
            p.wait(10)
        self.zombies.clear()

    def stop(self) -> None:
        self.reap()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process_server(data_dir: Path, ceph: list[Any]) -> Iterator[Proc]:
    port = free_port()
    config = data_dir / "cowcloud.toml"
    config.write_text(config_toml(data_dir, port, ceph))
    proc = Proc(f"http://127.0.0.1:{port}", config, data_dir)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
