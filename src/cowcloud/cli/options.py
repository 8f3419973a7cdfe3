"""What every `cowcloud` command shares: the console, the --config option, loading settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .. import config as config_mod

console = Console(stderr=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML configuration file "
                      "(default: $COWCLOUD_CONFIG, /etc/cowcloud/cowcloud.toml, else embedded)")]


def load_settings(path: Path | None) -> config_mod.Settings:
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
