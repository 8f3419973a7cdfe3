"""`cowcloud`: serve, init, config check, user and project create (Typer + rich)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import identity, image
from .options import ConfigOpt, console, load_settings

app = typer.Typer(help="cowcloud: a Ceph-native cloud storage plane speaking the OpenStack APIs.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def serve(config: ConfigOpt = None,
          host: Annotated[Optional[str], typer.Option(help="address to listen on")] = None,
          port: Annotated[Optional[int], typer.Option(help="port to listen on")] = None,
          log_level: str = "INFO") -> None:
    """Run the API server (identity, image) on one port."""
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
    identity.first_start(settings)
    console.print(f"cowcloud serving on [bold]{settings.server.url}[/bold]; "
                  f"data in [bold]{settings.server.data_dir}[/bold], "
                  f"database {settings.server.database_url}")
    uvicorn.run(create_app(settings), host=settings.server.host, port=settings.server.port,
                log_level=log_level.lower(), access_log=False,
                http=protocol_for(settings.server))


config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
identity.register(app)
image.register(app)


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
