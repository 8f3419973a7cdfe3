"""A throwaway PostgreSQL server from Debian's packages, on loopback, for the production DB path."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def postgres_available() -> str | None:
    """None when a server can be started here, else why not (for a clear skip)."""
    if not (_bin("initdb") and _bin("pg_ctl")):
        return "PostgreSQL server binaries not installed (Debian package postgresql)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # the server refuses to run as root; Debian's package creates the postgres user
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start_postgres(folder: Path) -> tuple[str, int]:
    """Starts a server in `folder`; returns (SQLAlchemy URL of database 'cowcloud', port)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([_bin("initdb") or "initdb", "-D", str(data), "-U", "cowcloud",
                                 "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([_bin("pg_ctl") or "pg_ctl", "-D", str(data), "-w", "-l",
                                 str(folder / "log"), "-o",
                                 f"-h 127.0.0.1 -p {port} -k {folder}", "start"]),
                   check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "cowcloud", "-d",
                    "postgres", "-c", "CREATE DATABASE cowcloud"], check=True, capture_output=True)
    return f"postgresql+psycopg://cowcloud@127.0.0.1:{port}/cowcloud", port


def stop_postgres(folder: Path) -> None:
    subprocess.run(_as_postgres([_bin("pg_ctl") or "pg_ctl", "-D", str(folder / "data"), "-m",
                                 "fast", "-w", "stop"]), capture_output=True)


def fresh_database(url: str, prefix: str = "t") -> str:
    """A new empty database on the server of `url` (whose own database other tests drop and
    rebuild); its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)
