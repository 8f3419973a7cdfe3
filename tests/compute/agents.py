"""Compute agents as separate processes (`cowcloud agent`), one host each, on loopback."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from server import RunningServer

SRC = Path(__file__).resolve().parents[2] / "src"
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def agent_config(folder: Path, host: str, control_url: str, *, clusters: dict[str, Any],
                 backends: dict[str, Any], vcpus: int = 4, memory_mb: int = 8192,
                 site: str | None = None, down_seconds: float = 6) -> Path:
    """A TOML file for one agent: its own data folder, the clusters and ephemeral backends
    it reaches."""
    lines = [f'[server]\ndata_dir = "{folder}"\n',
             f"[compute]\nservice_down_seconds = {down_seconds}\nagent_poll_seconds = 5\n",
             f'[agent]\nhost = "{host}"\ncontrol_url = "{control_url}"\n'
             f"vcpus = {vcpus}\nmemory_mb = {memory_mb}\n"
             + (f'site = "{site}"\n' if site else "")]
    sites = sorted({c["site"] for c in clusters.values()})
    for s in sites:
        lines.append(f"[sites.{s}]\n")
    for name, c in clusters.items():
        lines.append(f"[clusters.{name}]\n" + "".join(
            f'{k} = "{v}"\n' for k, v in c.items()))
    for name, b in backends.items():
        lines.append(f"[ephemeral_backends.{name}]\n" + "".join(
            f'{k} = {str(v).lower()}\n' if isinstance(v, bool) else f'{k} = "{v}"\n'
            for k, v in b.items()))
    path = folder / "agent.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path




class AgentProcess:
    def __init__(self, config: Path, password: str, log: Path) -> None:
        env = {**os.environ, "COWCLOUD_AGENT_PASSWORD": password, "PYTHONPATH": str(SRC)}
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen([str(VENV_BIN / "cowcloud"), "agent", "--config",
                                      str(config), "--log-level", "WARNING"], env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_registered(srv: RunningServer, token: str, hosts: list[str],
                    agents: list[AgentProcess], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        resp = httpx.get(f"{srv.url}/compute/v2.1/os-services",
                         headers={"X-Auth-Token": token}, timeout=30)
        up = {s["host"] for s in resp.json()["services"] if s["state"] == "up"}
        if set(hosts) <= up:
            return
        for a in agents:
            if a.proc.poll() is not None:
                raise AssertionError(f"an agent exited ({a.proc.returncode}):\n{a.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"agents never registered (up: {up})")
        time.sleep(0.2)


@contextmanager
def running_agents(configs: list[Path], password: str, logs: Path
                   ) -> Iterator[list[AgentProcess]]:
    agents = [AgentProcess(c, password, logs / f"agent-{i}.log")
              for i, c in enumerate(configs)]
    try:
        yield agents
    finally:
        for a in agents:
            a.stop()
