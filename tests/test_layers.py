"""The package's shape, checked on its own files: one error tree with one NotFound, imports that
point down the layers, qemu-img run only under storage, and integrity errors translated in db."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert

import cowcloud
from cowcloud import errors
from cowcloud.db import Database, Duplicate, savepoint

SRC = Path(cowcloud.__file__).parent


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages([str(SRC)], "cowcloud.")
            if not m.name.startswith("cowcloud.db.migrations")]


def _imports(path: Path) -> set[str]:
    """Absolute names of the cowcloud modules a file imports."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("cowcloud")}


def _files(under: str) -> list[Path]:
    return sorted((SRC / under).rglob("*.py"))


def test_one_not_found_class() -> None:
    classes = set()
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__name__ == "NotFound":
                classes.add(value)
    assert classes == {errors.NotFound}


# Signals that never leave their module, and a tool's own errors translated where they arise
# (storage/local/_errors.py), as rbd's are: not refusals anyone else sees.
INTERNAL = {"QemuImgError", "NbdError", "_LayerVanished", "_Refused", "_Invalid"}


@pytest.mark.parametrize("layer", ["storage", "block", "hypervisor", "services", "api", "cli",
                                   "agent"])
def test_every_raise_is_in_the_one_tree(layer: str) -> None:
    """Every exception class a layer defines derives from cowcloud.errors.Error."""
    for path in _files(layer):
        name = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Exception)
                    and value.__module__ == module.__name__ and value.__name__ not in INTERNAL):
                assert issubclass(value, errors.Error), f"{name}.{value.__name__}"


def test_integrity_errors_are_translated_in_db_only() -> None:
    users = [p for p in SRC.rglob("*.py")
             if "IntegrityError" in p.read_text() and p.parent.name != "db"]
    assert users == []


def test_integrity_error_becomes_duplicate(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    table.metadata.create_all(database.engine)
    with database.session() as s:
        s.execute(insert(table).values(id=1))
        with pytest.raises(Duplicate):
            with savepoint(s):
                s.execute(insert(table).values(id=1))
        s.execute(insert(table).values(id=2))  # the session goes on after the savepoint
    with pytest.raises(Duplicate):
        with database.session() as s:
            s.execute(insert(table).values(id=2))
    assert issubclass(Duplicate, errors.Conflict)
    create_engine("sqlite://").dispose()


def test_qemu_img_runs_only_under_storage() -> None:
    runs = re.compile(r"""["']qemu-img["']""")
    outside = [p for p in SRC.rglob("*.py")
               if runs.search(p.read_text()) and "storage" not in p.relative_to(SRC).parts
               and p.name != "check.py"]  # config check only looks the tool up on PATH
    assert outside == []


def test_api_imports_no_db_model() -> None:
    bad = {str(p.relative_to(SRC)): sorted(i for i in _imports(p) if i.startswith("cowcloud.db"))
           for p in _files("api")}
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize("layer,forbidden", [
    ("storage", ("cowcloud.block", "cowcloud.services", "cowcloud.api", "cowcloud.db")),
    ("block", ("cowcloud.services", "cowcloud.api", "cowcloud.db")),
    # Drivers run guests from disk specs; what a disk means is the agent's and the services'.
    ("hypervisor", ("cowcloud.storage", "cowcloud.block", "cowcloud.services", "cowcloud.api",
                    "cowcloud.db", "cowcloud.tasks")),
    ("db", ("cowcloud.block", "cowcloud.services", "cowcloud.api", "cowcloud.storage")),
    # A compute agent talks to the control plane over its channel, never through the database
    # (only serve's in-process agent calls the compute service, in agent/local.py)
    ("agent", ("cowcloud.db", "cowcloud.api", "cowcloud.tasks")),
])
def test_imports_point_down(layer: str, forbidden: tuple[str, ...]) -> None:
    for path in _files(layer):
        up = [i for i in _imports(path) if i.startswith(forbidden)]
        assert up == [], f"{path.relative_to(SRC)} imports {up}"
