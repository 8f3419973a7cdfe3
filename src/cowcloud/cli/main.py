"""`cowcloud`: serve, init, config check, user and project create (Typer + rich)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from . import agent, identity, image, volume
from .options import ConfigOpt, console, load_settings

app = typer.Typer(help="cowcloud: a Ceph-native cloud storage plane speaking the OpenStack APIs.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def serve(config: ConfigOpt = None,
          host: Annotated[Optional[str], typer.Option(help="address to listen on")] = None,
          port: Annotated[Optional[int], typer.Option(help="port to listen on")] = None,
          log_level: str = "INFO") -> None:
    """Run the API server (identity, image, volume, compute) on one port, with a compute agent
    for this machine unless compute.local_agent is false in the file."""
    import uvicorn

    from ..api.allocator import tune_allocator
    from ..api.app import create_app
    from ..api.observability import setup_logging
    from ..api.request_head import protocol_for

    settings = load_settings(config)
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update=overrides)})
    setup_logging(log_level)
    tune_allocator()
    # The event loop shares the GIL with the threads doing logins' database work: a read that
    # arrives while they run waits for the holder's switch interval, 5 ms by default, and for
    # each thread ahead of it. 1 ms took the reads' p99 among logins from 82-118 ms to 60-74
    # (bench_control.py --only mix, three runs each), tokens/s unchanged.
    sys.setswitchinterval(0.001)
    _dump_stacks_on_sigusr1()
    identity.first_start(settings)
    console.print(f"cowcloud serving on [bold]{settings.server.url}[/bold]; "
                  f"data in [bold]{settings.server.data_dir}[/bold], "
                  f"database {settings.server.database_url}")
    grace = settings.server.stop_grace_seconds
    # A request waiting on a cluster that does not answer must not hold SIGTERM up: after the
    # grace uvicorn cancels what still runs, and the runtime's stop is bounded the same way.
    uvicorn.run(create_app(settings), host=settings.server.host, port=settings.server.port,
                log_level=log_level.lower(), access_log=False,
                http=protocol_for(settings.server),
                timeout_graceful_shutdown=max(1, round(grace)))
    _exit_if_storage_stuck()


def _dump_stacks_on_sigusr1() -> None:
    """`kill -USR1 PID` writes every thread's stack to stderr: where a stuck call waits."""
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)


def _exit_if_storage_stuck() -> None:
    """Threads still blocked in librados would be joined at interpreter exit, forever: when a
    cluster connection was abandoned at stop, leave without joining them."""
    import os
    import sys

    cluster = sys.modules.get("cowcloud.storage.rbd.cluster")
    if cluster is not None and cluster.ABANDONED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
identity.register(app)
image.register(app)
volume.register(app)
agent.register(app)


@config_app.command("check")
def config_check(config: ConfigOpt = None,
                 timeout: Annotated[float, typer.Option(
                     help="seconds to wait for each cluster or database")] = 10) -> None:
    """Validate the configuration, then probe it: conf and keyring readable, each cluster
    reachable (fsid), each target's pool present and writable by the configured user.
    One line per check on stdout; exit 1 on a problem, 2 on an invalid file."""
    from .check import run

    raise typer.Exit(run(config, timeout))


if __name__ == "__main__":
    app()
