"""`cowcloud agent`: a compute agent for this host, talking to the control plane over HTTP."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .options import ConfigOpt, console, load_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def agent(config: ConfigOpt = None,
              host: Annotated[Optional[str], typer.Option(
                  help="the host name to register (default: agent.host in the file, else this "
                       "machine's)")] = None,
              control_url: Annotated[Optional[str], typer.Option(
                  help="the control plane's URL (default: agent.control_url in the file, else "
                       "the server.url)")] = None,
              log_level: str = "INFO") -> None:
        """Run a compute agent: register this host (CPU, RAM, the ephemeral backends the
        configuration reaches), heartbeat, and run the guests the control plane places
        here. Exit 3 when another agent holds the host name up."""
        import asyncio

        from ..agent.channel import AgentRefused
        from ..agent.run import serve_agent
        from ..api.observability import setup_logging

        settings = load_settings(config)
        overrides = {k: v for k, v in (("host", host), ("control_url", control_url)) if v}
        if overrides:
            settings = settings.model_copy(
                update={"agent": settings.agent.model_copy(update=overrides)})
        setup_logging(log_level)
        try:
            asyncio.run(serve_agent(settings))
        except AgentRefused as exc:
            console.print(f"[red]refused:[/red] {exc.message}")
            raise typer.Exit(3) from exc
